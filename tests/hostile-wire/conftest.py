"""pytest set-up for the hostile-client suite: ONE `sluice server` (the real binary, started with
the interop suite's harness from ../interop) serves every test in this folder, so that each case
shows the server survived everything sent before it, and its peak memory is checked over the
whole suite.

After every case the test calls `assert_healthy`: the process is alive, a confluent-kafka producer
and consumer round-trip a record, psycopg runs SHOW TOPICS, and the peak RSS (VmHWM) is under
1 GiB.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))

import confluent_kafka  # noqa: E402
import psycopg  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from sluice_harness import SluiceServer, wait_until  # noqa: E402

PEAK_RSS_LIMIT_KIB = 1024 * 1024


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set size (VmHWM) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))


def pg_port(server: SluiceServer) -> int:
    def probe():
        match = re.search(r"Postgres wire listening on [^\s]*:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres listener line in the server log", probe, timeout_s=30)


def create_topic(server: SluiceServer, name: str, partitions: int = 1, config: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])
    futures[name].result(timeout=30)


def round_trip(server: SluiceServer, compression: str = "none", n: int = 3) -> list[tuple[int, bytes]]:
    """Produce `n` records with confluent-kafka (acks=all, idempotent) to a fresh topic and read
    them back; returns (offset, value) pairs."""
    topic = f"healthy-{uuid.uuid4().hex[:10]}"
    create_topic(server, topic)
    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": server.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": compression,
            "linger.ms": 5,
        }
    )
    errors = []
    for i in range(n):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), on_delivery=lambda e, _m: e and errors.append(e))
    assert producer.flush(30) == 0, "records left unsent"
    assert not errors, errors
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": server.bootstrap, "group.id": topic, "enable.auto.commit": False}
    )
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        got: list[tuple[int, bytes]] = []

        def probe():
            msg = consumer.poll(0.5)
            if msg is not None:
                assert msg.error() is None, msg.error()
                got.append((msg.offset(), msg.value()))
            return len(got) >= n

        wait_until(f"{n} records back from {topic}", probe, timeout_s=30)
    finally:
        consumer.close()
    assert [v for _, v in got] == [f"v{i}".encode() for i in range(n)]
    assert [o for o, _ in got] == list(range(n))
    return got


def pg_statement(server: SluiceServer) -> None:
    """psycopg connects and runs a statement (`SELECT 1` has no FROM, which the ksqlDB dialect
    requires; SHOW TOPICS lists what round_trip created)."""
    with psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", autocommit=True) as conn:
        rows = conn.execute("SHOW TOPICS").fetchall()
        assert any("healthy-" in str(r) for r in rows), rows


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    srv = SluiceServer(data_dir=tmp / "data", log_dir=tmp / "logs")
    srv.start()
    yield srv
    was_running = srv.is_running()
    peak = peak_rss_kib(srv.process.pid) if was_running else None
    code = srv.stop()
    print(f"\nsluice server peak RSS over the hostile-wire suite: {peak} KiB")
    assert was_running, f"sluice server died during the suite\n{srv.log_tail()}"
    assert peak is not None and peak < PEAK_RSS_LIMIT_KIB, f"peak RSS {peak} KiB"
    assert code == 0, f"sluice server exited with code {code} after SIGTERM\n{srv.log_tail()}"


@pytest.fixture
def assert_healthy(server):
    """Call after a hostile input: the same server still serves Kafka clients and Postgres."""

    def check() -> None:
        assert server.is_running(), f"sluice server died\n{server.log_tail()}"
        round_trip(server)
        pg_statement(server)
        peak = peak_rss_kib(server.process.pid)
        assert peak < PEAK_RSS_LIMIT_KIB, f"peak RSS {peak} KiB is over 1 GiB"

    return check
