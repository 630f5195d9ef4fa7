"""Committed consumer-group offsets are durable: once OffsetCommit is acknowledged, a SIGKILL of
the server does not lose them, and the group resumes from them after the restart."""

from __future__ import annotations

import confluent_kafka

from py_clients import Confluent, consume_until, create_topic_confluent
from scenarios import committed_offsets
from workload import PARTITIONS, check_readback, counts_by_partition, keyed_records

TOPIC = "offsets"
GROUP = "durable-group"


def consume_and_commit(bootstrap: str, expected: int) -> list:
    """One group member reads `expected` records and commits synchronously; returns the records."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([TOPIC])
        records = consume_until(consumer, expected)
        consumer.commit(asynchronous=False)
        return records
    finally:
        consumer.close()


def test_committed_offsets_survive_sigkill(server):
    create_topic_confluent(server.bootstrap, TOPIC, PARTITIONS)
    first = keyed_records("before", count=500)
    Confluent(server.bootstrap).produce(TOPIC, first)
    consumed = consume_and_commit(server.bootstrap, len(first))
    check_readback(first, consumed)
    ends = counts_by_partition(consumed)
    assert committed_offsets(server.bootstrap, TOPIC, GROUP) == {p: ends.get(p, 0) for p in range(PARTITIONS)}

    server.kill()
    server.start()

    assert committed_offsets(server.bootstrap, TOPIC, GROUP) == {p: ends.get(p, 0) for p in range(PARTITIONS)}
    later = keyed_records("after", count=200, start=500)
    Confluent(server.bootstrap).produce(TOPIC, later)
    check_readback(later, consume_and_commit(server.bootstrap, len(later)), first_offsets=ends)
