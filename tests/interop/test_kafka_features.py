"""Kafka features data engineers rely on beyond plain keyed records, through confluent-kafka
(librdkafka): headers, null keys and tombstones, producer timestamps and offsets-for-times, a record
larger than the consumer's fetch limits, auto-created topics, and topic deletion.
"""

from __future__ import annotations

import time

import confluent_kafka
from confluent_kafka.admin import AdminClient

from py_clients import TIMEOUT_S, Confluent, consume_until, create_topic_confluent
from sluice_harness import wait_until


def produce_messages(bootstrap: str, topic: str, messages: list[dict]) -> list[confluent_kafka.Message]:
    """Produce each dict as keyword arguments of Producer.produce; return the delivery reports."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    delivered: list = []
    for m in messages:
        producer.produce(topic, on_delivery=lambda err, msg: delivered.append((err, msg)), **m)
    assert producer.flush(TIMEOUT_S) == 0
    errors = [err for err, _ in delivered if err is not None]
    assert not errors, errors
    return [msg for _, msg in delivered]


def consumer(bootstrap: str, **config) -> confluent_kafka.Consumer:
    return confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "features", "enable.auto.commit": False, "auto.offset.reset": "earliest", **config}
    )


def read_partition(bootstrap: str, topic: str, expected: int, partition: int = 0, **config) -> list[confluent_kafka.Message]:
    c = consumer(bootstrap, **config)
    try:
        c.assign([confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)])
        out: list = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(out) < expected:
            assert time.monotonic() < deadline, f"read {len(out)} of {expected} messages"
            for m in c.consume(num_messages=100, timeout=0.2):
                assert m.error() is None, m.error()
                out.append(m)
        return out
    finally:
        c.close()


def test_headers_null_keys_and_tombstones_round_trip(server):
    create_topic_confluent(server.bootstrap, "features", 1)
    sent = [
        {"key": b"k1", "value": b"v1", "headers": [("trace-id", b"abc"), ("empty", b""), ("dup", b"1"), ("dup", b"2")]},
        {"key": None, "value": b"no key"},
        {"key": b"k1", "value": None},  # a tombstone
        {"key": b"", "value": b""},
    ]
    produce_messages(server.bootstrap, "features", sent)
    got = read_partition(server.bootstrap, "features", len(sent))
    assert [(m.key(), m.value()) for m in got] == [(s["key"], s["value"]) for s in sent]
    assert got[0].headers() == [("trace-id", b"abc"), ("empty", b""), ("dup", b"1"), ("dup", b"2")]
    assert not got[1].headers()


def test_producer_timestamps_and_offsets_for_times(server):
    create_topic_confluent(server.bootstrap, "timed", 1)
    base = 1_700_000_000_000
    produce_messages(server.bootstrap, "timed", [{"value": f"t{i}".encode(), "timestamp": base + i * 1000} for i in range(100)])
    got = read_partition(server.bootstrap, "timed", 100)
    assert [m.timestamp() for m in got] == [(confluent_kafka.TIMESTAMP_CREATE_TIME, base + i * 1000) for i in range(100)]

    c = consumer(server.bootstrap)
    try:
        # ListOffsets by timestamp: the first offset whose timestamp is >= the one asked for.
        asked = [base - 1, base + 41_500, base + 99_000, base + 100_000]
        # One call per timestamp: librdkafka takes one timestamp per partition per request.
        found = [c.offsets_for_times([confluent_kafka.TopicPartition("timed", 0, t)], timeout=30)[0].offset for t in asked]
        assert found == [0, 42, 99, -1]
        low, high = c.get_watermark_offsets(confluent_kafka.TopicPartition("timed", 0), timeout=30)
        assert (low, high) == (0, 100)
    finally:
        c.close()


def test_record_larger_than_the_fetch_limits_is_still_delivered(server):
    # Kafka returns at least one whole batch even when it exceeds max.partition.fetch.bytes and
    # fetch.max.bytes, so that a large record never blocks a consumer.
    create_topic_confluent(server.bootstrap, "large", 1)
    big = bytes(range(256)) * 3500  # 896,000 bytes: under the default max.message.bytes
    produce_messages(server.bootstrap, "large", [{"value": b"small-1"}, {"value": big}, {"value": b"small-2"}])
    got = read_partition(server.bootstrap, "large", 3, **{"max.partition.fetch.bytes": 65536, "fetch.max.bytes": 65536, "message.max.bytes": 65536})
    assert [m.value() for m in got] == [b"small-1", big, b"small-2"]


def test_produce_to_unknown_topic_auto_creates_it(server):
    # Kafka's default (auto.create.topics.enable=true): a producer's Metadata request creates it.
    produce_messages(server.bootstrap, "auto-created", [{"key": b"k", "value": b"v"}])
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    assert "auto-created" in admin.list_topics(timeout=10).topics
    got = read_partition(server.bootstrap, "auto-created", 1)
    assert got[0].value() == b"v"


def test_deleted_topic_disappears_and_can_be_created_again(server):
    client = Confluent(server.bootstrap)
    client.create_topic("short-lived", 3)
    client.produce("short-lived", [(b"k", b"old")])
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.delete_topics(["short-lived"], operation_timeout=30)["short-lived"].result(timeout=60)
    wait_until("short-lived to leave the metadata", lambda: "short-lived" not in admin.list_topics(timeout=10).topics, timeout_s=60)

    # Created again, it starts empty.
    client.create_topic("short-lived", 2)
    client.produce("short-lived", [(b"k", b"new")])
    c = consumer(server.bootstrap)
    try:
        c.assign([confluent_kafka.TopicPartition("short-lived", p, confluent_kafka.OFFSET_BEGINNING) for p in range(2)])
        assert [m.value for m in consume_until(c, 1)] == [b"new"]
        ends = [c.get_watermark_offsets(confluent_kafka.TopicPartition("short-lived", p), timeout=30) for p in range(2)]
        assert sorted(ends) == [(0, 0), (0, 1)], f"watermarks {ends}: records of the deleted topic came back"
    finally:
        c.close()
