"""Hostile requests against one running `sluice server`: each gets a Kafka error code or its
connection closed, and afterwards (the `server` fixture checks) the same server still serves
confluent-kafka produce and consume and psycopg `SELECT 1`.
"""

from __future__ import annotations

import socket
import struct
import time
import uuid

import kafka_wire
import pytest
from hostile_wire import (
    API_ALTER_CONFIGS,
    API_CREATE_PARTITIONS,
    API_CREATE_TOPICS,
    API_DELETE_RECORDS,
    API_DELETE_TOPICS,
    API_FETCH,
    API_INCREMENTAL_ALTER_CONFIGS,
    API_JOIN_GROUP,
    API_METADATA,
    API_PRODUCE,
    INVALID_PARTITIONS,
    INVALID_REQUEST,
    INVALID_TOPIC_EXCEPTION,
    alter_configs_v0,
    batch,
    create_partitions_v0,
    create_topics_v2,
    delete_records_v0,
    delete_topics_v1,
    fetch_v4,
    incremental_alter_configs_v0,
    join_group_error,
    join_group_v1,
    metadata_v4,
    parse_alter_configs_v0,
    parse_create_partitions_v0,
    parse_create_topics_v2,
    parse_delete_records_v0,
    parse_delete_topics_v1,
    parse_metadata_v4,
    parse_produce_v3,
    produce_v3,
)

INTERNAL_TOPICS = ["__consumer_offsets", "_sluice_commands", "_sluice_query_offsets"]
I32_MAX = 2**31 - 1


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def request(server, api: int, version: int, body: bytes, timeout_s: float = 60.0) -> bytes:
    with kafka_wire.connect(server.bootstrap, timeout_s=timeout_s) as conn:
        _, response = conn.request(api, version, body)
        return response


def create_topic(server, name: str, partitions: int = 1, configs=None) -> None:
    result = parse_create_topics_v2(request(server, API_CREATE_TOPICS, 2, create_topics_v2([(name, partitions)], configs)))
    assert result == {name: 0}, result


# --- 2. Internal topics ---------------------------------------------------------------------


@pytest.mark.parametrize("topic", INTERNAL_TOPICS)
def test_produce_to_an_internal_topic_is_refused(server, topic):
    records = batch([(b"forged-key", b"not what the broker writes")])
    result = parse_produce_v3(request(server, API_PRODUCE, 3, produce_v3(topic, 0, records)))
    assert [(t, p, e) for t, p, e, _ in result] == [(topic, 0, INVALID_TOPIC_EXCEPTION)]


@pytest.mark.parametrize("topic", INTERNAL_TOPICS)
def test_delete_records_of_an_internal_topic_is_refused(server, topic):
    result = parse_delete_records_v0(request(server, API_DELETE_RECORDS, 0, delete_records_v0(topic, 0, -1)))
    assert [(p, e) for p, _, e in result] == [(0, INVALID_TOPIC_EXCEPTION)]


@pytest.mark.parametrize("topic", INTERNAL_TOPICS)
def test_config_changes_of_an_internal_topic_are_refused(server, topic):
    incremental = request(
        server,
        API_INCREMENTAL_ALTER_CONFIGS,
        0,
        incremental_alter_configs_v0(topic, [("retention.ms", 0, "1")]),
    )
    assert parse_alter_configs_v0(incremental) == [(INVALID_TOPIC_EXCEPTION, topic)]
    replaced = request(server, API_ALTER_CONFIGS, 0, alter_configs_v0(topic, {"cleanup.policy": "delete"}))
    assert parse_alter_configs_v0(replaced) == [(INVALID_TOPIC_EXCEPTION, topic)]


@pytest.mark.parametrize("topic", INTERNAL_TOPICS)
def test_internal_topics_cannot_be_deleted_or_grown(server, topic):
    deleted = parse_delete_topics_v1(request(server, API_DELETE_TOPICS, 1, delete_topics_v1([topic])))
    assert deleted == {topic: INVALID_TOPIC_EXCEPTION}
    grown = parse_create_partitions_v0(request(server, API_CREATE_PARTITIONS, 0, create_partitions_v0(topic, 4)))
    assert grown == {topic: INVALID_TOPIC_EXCEPTION}


def test_internal_names_are_not_created_by_clients(server):
    name = fresh("_sluice_forged")
    created = parse_create_topics_v2(request(server, API_CREATE_TOPICS, 2, create_topics_v2([(name, 1)])))
    assert created == {name: INVALID_TOPIC_EXCEPTION}
    meta = parse_metadata_v4(request(server, API_METADATA, 4, metadata_v4([name, "__consumer_offsets"])))
    assert meta[name][0] != 0, "an internal name is not auto-created"
    assert meta["__consumer_offsets"][1] is True, "reported as internal"


# --- 1. Limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("partitions", [I32_MAX, 100_000])
def test_create_topics_with_too_many_partitions_gets_an_error(server, partitions):
    name = fresh("huge")
    created = parse_create_topics_v2(request(server, API_CREATE_TOPICS, 2, create_topics_v2([(name, partitions)])))
    assert created == {name: INVALID_PARTITIONS}


def test_create_partitions_to_two_billion_gets_an_error(server):
    name = fresh("grow")
    create_topic(server, name)
    grown = parse_create_partitions_v0(request(server, API_CREATE_PARTITIONS, 0, create_partitions_v0(name, I32_MAX)))
    assert grown == {name: INVALID_PARTITIONS}


def test_fetch_listing_one_partition_many_times_is_bounded(server):
    name = fresh("fetch")
    create_topic(server, name)
    value = b"v" * 100_000
    for _ in range(20):  # ~2 MB in the partition
        records = batch([(None, value)] * 1)
        result = parse_produce_v3(request(server, API_PRODUCE, 3, produce_v3(name, 0, records)))
        assert result[0][2] == 0, result
    body = fetch_v4(name, [(0, 0)] * 40, max_bytes=I32_MAX, partition_max_bytes=I32_MAX)
    with kafka_wire.connect(server.bootstrap, timeout_s=60) as conn:
        _, response = conn.request(API_FETCH, 4, body)
    # One copy of the partition's ~2 MB, not forty.
    assert len(response) < 4_000_000, f"a Fetch naming one partition 40 times returned {len(response)} bytes"
    assert len(response) > 1_000_000, "the partition's data is still returned once"


def test_join_group_with_150000_protocols_is_refused_quickly(server):
    protocols = [(f"p{i}", b"") for i in range(150_000)]
    started = time.monotonic()
    body = request(server, API_JOIN_GROUP, 1, join_group_v1(fresh("g"), protocols), timeout_s=60)
    assert join_group_error(body) == INVALID_REQUEST
    assert time.monotonic() - started < 30


def test_incremental_alter_configs_with_150000_entries_does_not_wedge(server):
    name = fresh("cfg")
    create_topic(server, name)
    configs = [(f"unknown.config.{i}", 0, "1") for i in range(150_000)]
    response = request(server, API_INCREMENTAL_ALTER_CONFIGS, 0, incremental_alter_configs_v0(name, configs), timeout_s=60)
    [(error, resource)] = parse_alter_configs_v0(response)
    assert resource == name and error != 0


def test_incremental_alter_configs_with_150000_duplicate_entries(server):
    name = fresh("cfg")
    create_topic(server, name)
    configs = [("retention.ms", 0, str(i)) for i in range(150_000)]
    response = request(server, API_INCREMENTAL_ALTER_CONFIGS, 0, incremental_alter_configs_v0(name, configs), timeout_s=60)
    assert parse_alter_configs_v0(response) == [(INVALID_REQUEST, name)]


def test_oversized_frame_closes_the_connection(server):
    with kafka_wire.connect(server.bootstrap) as conn:
        conn.send_raw(struct.pack(">i", 200 * 1024 * 1024) + struct.pack(">hhi", 3, 4, 1))
        assert conn.wait_closed(10), "a frame over socket.request.max.bytes closes the connection"


def test_eleven_hundred_idle_and_half_sent_connections_do_not_lock_clients_out(server):
    held = []
    try:
        for i in range(1100):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if i % 2:
                # Half a frame: a size prefix and a few bytes of header, never finished.
                s.sendall(struct.pack(">i", 100) + b"\x00\x03")
            held.append(s)
        # While all of them are still open, real clients are served (the fixture checks that
        # too, after they are closed).
        from conftest import serves_clients

        serves_clients(server)
    finally:
        for s in held:
            s.close()
