"""The catalog replays to its final state before any query runs (issue 14, scenario 1): a
terminated and dropped query never starts again at a restart, so it never cuts or deletes a topic
that a later stream reuses, across clean restarts (SIGTERM) and SIGKILLs.

Scenario 2 (rows INSERTed into a CREATE ... AS SELECT sink survive a restart) needs query commits
on Kafka transactions: its test is marked xfail(strict=True) and must flip when they land.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import confluent_kafka
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))

from sluice_harness import SluiceServer, wait_until  # noqa: E402


def pg_port(server: SluiceServer) -> int:
    """The Postgres port of the server's current run (started with --pg-addr 127.0.0.1:0)."""

    def probe():
        match = re.search(r"Postgres wire listening on [^\s]*:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres listener line in the server log", probe, timeout_s=30)


def connect(server: SluiceServer) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", autocommit=True)


def topic_values(server: SluiceServer, topic: str) -> list[str]:
    """Every record value of partition 0 of `topic`, in offset order (read to the high-water mark)."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": server.bootstrap, "group.id": "reader", "enable.auto.commit": False}
    )
    try:
        low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        if high <= low:
            return []
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, low)])
        values: list[str] = []
        seen_end = low
        while seen_end < high:
            msg = consumer.poll(10)
            assert msg is not None, f"{topic}: nothing more after offset {seen_end} (high-water mark {high})"
            assert msg.error() is None, msg.error()
            values.append(msg.value().decode())
            seen_end = msg.offset() + 1
        return values
    finally:
        consumer.close()


def wait_for_values(server: SluiceServer, topic: str, count: int) -> list[str]:
    return wait_until(
        f"{count} records in {topic}",
        lambda: (lambda v: v if len(v) >= count else None)(topic_values(server, topic)),
        timeout_s=30,
        interval_s=0.1,
    )


def query_id(conn: psycopg.Connection, sink: str) -> str:
    ids = [row[0] for row in conn.execute("SHOW QUERIES").fetchall() if row[0].startswith(f"CSAS_{sink}_")]
    assert len(ids) == 1, ids
    return ids[0]


FIVE = [f'{{"V":{v}}}' for v in (10, 20, 30, 40, 50)]


def test_a_dropped_query_never_touches_a_reused_topic_across_restarts(server):
    with connect(server) as conn:
        conn.execute("CREATE STREAM s (id INT KEY, v INT) WITH (KAFKA_TOPIC='S', PARTITIONS=1, VALUE_FORMAT='JSON')")
        conn.execute("SET 'auto.offset.reset'='earliest'")
        conn.execute("CREATE STREAM t WITH (KAFKA_TOPIC='T') AS SELECT id, v FROM s WHERE v > 0")
        for i in (1, 2, 3):
            conn.execute(f"INSERT INTO s (id, v) VALUES ({i}, {i})")
        assert wait_for_values(server, "T", 3) == ['{"V":1}', '{"V":2}', '{"V":3}']
        conn.execute(f"TERMINATE {query_id(conn, 'T')}")
        conn.execute("DROP STREAM t DELETE TOPIC")
        conn.execute("CREATE STREAM t2 (id INT KEY, v INT) WITH (KAFKA_TOPIC='T', PARTITIONS=1, VALUE_FORMAT='JSON')")
        for i, v in enumerate((10, 20, 30, 40, 50)):
            conn.execute(f"INSERT INTO t2 (id, v) VALUES ({i}, {v})")
    assert topic_values(server, "T") == FIVE

    for restart in range(10):
        if restart < 5:
            assert server.stop() == 0
        else:
            server.kill()
        server.start()
        with connect(server) as conn:
            # The engine is up (it replayed the catalog): no query runs, t2 is there.
            assert conn.execute("SHOW QUERIES").fetchall() == []
            names = [row[0] for row in conn.execute("SHOW STREAMS").fetchall()]
            assert "T2" in names and "T" not in names, names
        assert topic_values(server, "T") == FIVE, f"after restart {restart + 1}"


@pytest.mark.xfail(
    strict=True,
    reason="scenario 2 needs query commits on Kafka transactions (branch txn): recovery still cuts "
    "every sink record past the query's last commit, whoever wrote it",
)
def test_rows_inserted_into_a_query_sink_survive_a_restart(server):
    with connect(server) as conn:
        conn.execute("CREATE STREAM s (id INT KEY, v INT) WITH (KAFKA_TOPIC='S', PARTITIONS=1, VALUE_FORMAT='JSON')")
        conn.execute("SET 'auto.offset.reset'='earliest'")
        conn.execute("CREATE STREAM big AS SELECT id, v FROM s WHERE v > 100")
        conn.execute("INSERT INTO s (id, v) VALUES (1, 500)")
        wait_for_values(server, "BIG", 1)
        for i in range(7):
            conn.execute(f"INSERT INTO big (id, v) VALUES ({10 + i}, {i})")
    assert len(topic_values(server, "BIG")) == 8
    assert server.stop() == 0
    server.start()
    with connect(server) as conn:
        conn.execute("SHOW QUERIES").fetchall()
    assert len(topic_values(server, "BIG")) == 8
    server.kill()
    server.start()
    with connect(server) as conn:
        conn.execute("SHOW QUERIES").fetchall()
    assert len(topic_values(server, "BIG")) == 8
