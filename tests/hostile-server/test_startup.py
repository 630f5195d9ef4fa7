"""The server always starts: after an undecodable record in each internal topic, a forged batch in
a compacted topic, or a torn segment tail, it starts, logs what it skipped, and serves every other
topic. Bad bytes are written into segment files while the server is stopped, the way a broken
disk, an older version or a hostile client of an older version leaves them.
"""

from __future__ import annotations

import struct
import uuid

import kafka_wire
import pytest
import segments
from conftest import serves_clients
from hostile_wire import (
    API_CREATE_TOPICS,
    API_FETCH,
    API_PRODUCE,
    batch,
    create_topics_v2,
    fetch_v4,
    parse_create_topics_v2,
    parse_produce_v3,
    produce_v3,
    record,
)
from sluice_harness import wait_until

I32_MAX = 2**31 - 1


def request(server, api: int, version: int, body: bytes) -> bytes:
    with kafka_wire.connect(server.bootstrap, timeout_s=60) as conn:
        _, response = conn.request(api, version, body)
        return response


def create_with_data(server, name: str, configs=None, records: int = 5) -> None:
    created = parse_create_topics_v2(request(server, API_CREATE_TOPICS, 2, create_topics_v2([(name, 1)], configs)))
    assert created == {name: 0}, created
    for i in range(records):
        produced = parse_produce_v3(request(server, API_PRODUCE, 3, produce_v3(name, 0, batch([(f"k{i % 3}".encode(), f"v{i}".encode())]))))
        assert produced[0][2] == 0, produced


def fetch_bytes(server, name: str) -> int:
    """Bytes of records a Fetch from offset 0 returns (the topic is still served)."""
    response = request(server, API_FETCH, 4, fetch_v4(name, [(0, 0)], max_bytes=1 << 20, partition_max_bytes=1 << 20))
    # throttle, topics(1): name, partitions(1): index, error, hw, lso, aborted(null/array), records
    pos = 4 + 4
    (n,) = struct.unpack_from(">h", response, pos)
    pos += 2 + n + 4
    index, error, hw, _lso = struct.unpack_from(">ihqq", response, pos)
    assert error == 0, f"Fetch of {name} failed with error {error}"
    assert hw > 0
    return hw


def log_has(server, *needles: str) -> bool:
    """Does one line of the server's log hold every needle?"""
    lines = server.log_path.read_text(errors="replace").splitlines()
    return any(all(n in line for n in needles) for line in lines)


def start_a_persistent_query(server) -> None:
    """A query that commits to _sluice_query_offsets (which exists once a query ran)."""
    import psycopg
    from conftest import pg_port

    source = f"src_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", autocommit=True) as conn:
        conn.execute(f"CREATE STREAM {source} (v INT) WITH (KAFKA_TOPIC='{source}', VALUE_FORMAT='JSON', PARTITIONS=1)")
        conn.execute(f"CREATE STREAM {source}_out AS SELECT v FROM {source}")
    wait_until(
        "_sluice_query_offsets to exist",
        lambda: bool(segments.segment_files(server.data_dir, "_sluice_query_offsets", 0)),
        timeout_s=30,
    )


def append_to_active_segment(data_dir, topic: str, forge) -> None:
    """Appends `forge(next_offset)` to the topic's last segment file."""
    files = segments.segment_files(data_dir, topic, 0)
    last = files[-1]
    headers = segments.batch_headers(last)
    next_offset = headers[-1].next_offset if headers else int(last.stem)
    with open(last, "ab") as f:
        f.write(forge(next_offset))


def forged_batches(next_offset: int) -> bytes:
    """Three batches every replay must survive: a record that is not what the topic holds, inner
    offsets 0,0,0 (a reader advancing by record offsets loops), and a header claiming 2^31-1
    records in a few bytes."""
    junk = batch([(b"\x00\x07junk-key", b"not json, not an offset commit")], base_offset=next_offset)
    zeros = batch(
        [],
        base_offset=next_offset + 1,
        records_count=3,
        last_offset_delta=2,
        raw_records=b"".join(record(0, b"\x00\x01k", b"v") for _ in range(3)),
    )
    huge = batch([(b"k", b"v")], base_offset=next_offset + 4, records_count=I32_MAX, last_offset_delta=0)
    return junk + zeros + huge


@pytest.mark.parametrize("internal", ["__consumer_offsets", "_sluice_commands", "_sluice_query_offsets"])
def test_server_starts_after_undecodable_records_in_an_internal_topic(fresh_server, internal):
    srv = fresh_server
    srv.start()
    user_topic = f"kept-{uuid.uuid4().hex[:6]}"
    create_with_data(srv, user_topic)
    start_a_persistent_query(srv)
    assert srv.stop() == 0
    append_to_active_segment(srv.data_dir, internal, forged_batches)
    srv.start()
    assert fetch_bytes(srv, user_topic) == 5, "every other topic is served"
    serves_clients(srv)
    log = srv.log_path.read_text(errors="replace")
    assert "skip" in log, "what was skipped is logged"


def test_server_starts_after_a_forged_batch_in_a_compacted_topic_and_compacts_the_others(fresh_server):
    srv = fresh_server
    srv.start()
    compacted = {"cleanup.policy": "compact", "segment.bytes": "1024", "min.compaction.lag.ms": "0"}
    bad, good = f"bad-{uuid.uuid4().hex[:6]}", f"good-{uuid.uuid4().hex[:6]}"
    create_with_data(srv, bad, compacted, records=60)
    create_with_data(srv, good, compacted, records=60)
    assert srv.stop() == 0
    append_to_active_segment(
        srv.data_dir,
        bad,
        lambda offset: batch([(b"k", b"v")], base_offset=offset, records_count=I32_MAX, last_offset_delta=0),
    )
    srv.start()
    # The cleaner runs every 15 s: it must skip the bad partition and compact the good one.
    wait_until(
        "the cleaner to skip the forged partition and compact the other",
        lambda: log_has(srv, "partition skipped by the cleaner", f"topic={bad}")
        and log_has(srv, "compacted a segment", f"topic={good}"),
        timeout_s=60,
        interval_s=0.5,
    )
    assert srv.is_running()
    assert fetch_bytes(srv, good) > 0
    serves_clients(srv)


def test_server_starts_after_a_torn_segment_tail(fresh_server):
    srv = fresh_server
    srv.start()
    name = f"torn-{uuid.uuid4().hex[:6]}"
    create_with_data(srv, name)
    srv.kill()
    append_to_active_segment(srv.data_dir, name, lambda offset: batch([(b"k", b"v" * 100)], base_offset=offset)[:70])
    srv.start()
    assert fetch_bytes(srv, name) == 5, "the whole batches before the torn tail are kept"
    serves_clients(srv)
