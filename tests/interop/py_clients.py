"""The two Python clients (confluent-kafka on librdkafka, and pure-Python kafka-python) behind one
small interface, so test_python_clients.py runs the same scenario on each.

A `Client` creates topics, produces keyed records (returning the partition and offset the broker
acknowledged for each), reads partitions back from the beginning, and makes consumer-group members.
Every call is bounded by a deadline.
"""

from __future__ import annotations

import threading
import time
from typing import Optional, Protocol

import confluent_kafka
import kafka
import kafka.admin
from confluent_kafka.admin import AdminClient, NewTopic

from sluice_harness import wait_until
from workload import Consumed

TIMEOUT_S = 120.0


class GroupMemberClient(Protocol):
    def poll(self) -> list[Consumed]: ...
    def assignment(self) -> set[int]: ...
    def commit_and_close(self) -> None: ...


class Client(Protocol):
    name: str

    def create_topic(self, topic: str, partitions: int) -> None: ...
    def produce(self, topic: str, records: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]: ...
    def read_all(self, topic: str, partitions: int, expected: int) -> list[Consumed]: ...
    def group_member(self, topic: str, group: str) -> GroupMemberClient: ...


# --- confluent-kafka ------------------------------------------------------------------------------


class Confluent:
    name = "confluent-kafka"

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def create_topic(self, topic: str, partitions: int) -> None:
        create_topic_confluent(self.bootstrap, topic, partitions)

    def produce(self, topic: str, records: list[tuple[bytes, bytes]], **config) -> list[tuple[int, int]]:
        producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": self.bootstrap,
                # librdkafka's default is consistent_random (CRC32); murmur2_random is the Java
                # client's partitioner, which is what every Kafka-compatible keyed producer must match.
                "partitioner": "murmur2_random",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.timeout.ms": int(TIMEOUT_S * 1000),
                **config,
            }
        )
        acked: list[Optional[tuple[int, int]]] = [None] * len(records)
        errors: list[str] = []

        def on_delivery(index: int):
            def cb(err, msg):
                if err is not None:
                    errors.append(f"record {index}: {err}")
                else:
                    acked[index] = (msg.partition(), msg.offset())

            return cb

        deadline = time.monotonic() + TIMEOUT_S
        for i, (key, value) in enumerate(records):
            while True:
                try:
                    producer.produce(topic, key=key, value=value, on_delivery=on_delivery(i))
                    break
                except BufferError:  # local queue full: serve delivery reports, then retry
                    producer.poll(0.1)
                    assert time.monotonic() < deadline, "confluent-kafka producer queue stayed full"
            producer.poll(0)
        remaining = producer.flush(max(1.0, deadline - time.monotonic()))
        assert remaining == 0, f"{remaining} records still unacknowledged after {TIMEOUT_S}s"
        assert not errors, f"{len(errors)} produce errors, e.g. {errors[:3]}"
        return acked  # type: ignore[return-value]

    def read_all(self, topic: str, partitions: int, expected: int) -> list[Consumed]:
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"readback-{topic}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        try:
            consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(partitions)])
            return consume_until(consumer, expected)
        finally:
            consumer.close()

    def group_member(self, topic: str, group: str) -> "ConfluentMember":
        return ConfluentMember(self.bootstrap, topic, group)


def consume_until(consumer: confluent_kafka.Consumer, expected: int) -> list[Consumed]:
    """Poll an assigned or subscribed consumer until it has `expected` records, within TIMEOUT_S."""
    out: list[Consumed] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(out) < expected:
        assert time.monotonic() < deadline, f"read {len(out)} of {expected} records in {TIMEOUT_S}s"
        out.extend(_confluent_record(m) for m in consumer.consume(num_messages=1000, timeout=0.2))
    return out


def create_topic_confluent(bootstrap: str, topic: str, partitions: int, config: Optional[dict] = None) -> None:
    """CreateTopics through librdkafka's admin client, then wait until Metadata shows the topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})], request_timeout=30)
    futures[topic].result(timeout=60)

    def visible():
        md = admin.list_topics(topic, timeout=5)
        t = md.topics.get(topic)
        return t is not None and t.error is None and len(t.partitions) == partitions

    wait_until(f"topic {topic} with {partitions} partitions in metadata", visible, timeout_s=60)


def _confluent_record(msg) -> Consumed:
    err = msg.error()
    assert err is None, f"consumer error: {err}"
    return Consumed(msg.partition(), msg.offset(), msg.key(), msg.value())


class ConfluentMember:
    def __init__(self, bootstrap: str, topic: str, group: str):
        self._assigned: set[int] = set()
        self.consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 500,
            }
        )

        def on_assign(_consumer, partitions):
            self._assigned = {p.partition for p in partitions}

        def on_revoke(_consumer, _partitions):
            self._assigned = set()

        self.consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def poll(self) -> list[Consumed]:
        return [_confluent_record(m) for m in self.consumer.consume(num_messages=500, timeout=0.2)]

    def assignment(self) -> set[int]:
        return set(self._assigned)

    def commit_and_close(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as e:
            # _NO_OFFSET: nothing consumed since the last commit, so nothing to commit.
            if e.args[0].code() != confluent_kafka.KafkaError._NO_OFFSET:
                raise
        self.consumer.close()


# --- kafka-python ---------------------------------------------------------------------------------


class KafkaPython:
    name = "kafka-python"

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def create_topic(self, topic: str, partitions: int) -> None:
        admin = kafka.KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30000)
        try:
            admin.create_topics([kafka.admin.NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        finally:
            admin.close()

    def produce(self, topic: str, records: list[tuple[bytes, bytes]], compression: Optional[str] = None) -> list[tuple[int, int]]:
        # kafka-python's default partitioner is murmur2 (Java-compatible); acks=all and idempotence
        # are its defaults in 3.x but spelled out here so the test says what it exercises.
        producer = kafka.KafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=5, compression_type=compression
        )
        try:
            futures = [producer.send(topic, key=k, value=v) for k, v in records]
            producer.flush(timeout=TIMEOUT_S)
            acked = []
            for i, f in enumerate(futures):
                md = f.get(timeout=TIMEOUT_S)
                acked.append((md.partition, md.offset))
            return acked
        finally:
            producer.close(timeout=10)

    def read_all(self, topic: str, partitions: int, expected: int) -> list[Consumed]:
        consumer = kafka.KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
        try:
            consumer.assign([kafka.TopicPartition(topic, p) for p in range(partitions)])
            consumer.seek_to_beginning()
            out: list[Consumed] = []
            deadline = time.monotonic() + TIMEOUT_S
            while len(out) < expected:
                assert time.monotonic() < deadline, f"read {len(out)} of {expected} records in {TIMEOUT_S}s"
                for tp, msgs in consumer.poll(timeout_ms=200).items():
                    out.extend(Consumed(tp.partition, m.offset, m.key, m.value) for m in msgs)
            return out
        finally:
            consumer.close(autocommit=False)

    def group_member(self, topic: str, group: str) -> "KafkaPythonMember":
        return KafkaPythonMember(self.bootstrap, topic, group)


class KafkaPythonMember:
    def __init__(self, bootstrap: str, topic: str, group: str):
        self._assigned: set[int] = set()
        self._consumed: dict = {}  # TopicPartition -> offset after the last record handed out
        member = self

        class Listener(kafka.ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member._assigned = set()

            def on_partitions_assigned(self, assigned):
                member._assigned = {tp.partition for tp in assigned}

        self.consumer = kafka.KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10000,
            heartbeat_interval_ms=500,
        )
        self.consumer.subscribe([topic], listener=Listener())

    def poll(self) -> list[Consumed]:
        out = []
        for tp, msgs in self.consumer.poll(timeout_ms=200).items():
            out.extend(Consumed(tp.partition, m.offset, m.key, m.value) for m in msgs)
            if msgs:
                self._consumed[tp] = msgs[-1].offset + 1
        return out

    def assignment(self) -> set[int]:
        return set(self._assigned)

    def commit_and_close(self) -> None:
        # A commit that meets a rebalance (another member joining or leaving) is refused with
        # REBALANCE_IN_PROGRESS, as Kafka does; kafka-python leaves the retry to the application:
        # finish the rebalance with a poll of paused partitions (no records are handed out), then
        # commit what this member handed out for the partitions it still owns.
        for attempt in range(10):
            owned = self.consumer.assignment()
            offsets = {
                tp: kafka.structs.OffsetAndMetadata(offset, "", -1)
                for tp, offset in self._consumed.items()
                if tp in owned
            }
            try:
                if offsets:
                    self.consumer.commit(offsets)
                break
            except (kafka.errors.RebalanceInProgressError, kafka.errors.CommitFailedError):
                if attempt == 9:
                    raise
                self.consumer.pause(*self.consumer.assignment())
                self.consumer.poll(timeout_ms=500)
        self.consumer.close(autocommit=False)


# --- group members on their own threads -----------------------------------------------------------


class MemberThread(threading.Thread):
    """Runs one group member's poll loop on its own thread (clients' consumers are not thread-safe,
    and a member must keep polling to take part in a rebalance). `stop()` commits and closes it."""

    def __init__(self, make_member):
        super().__init__(daemon=True)
        self._make_member = make_member
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()
        self._records: list[Consumed] = []
        self._assignment: set[int] = set()
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        member = None
        try:
            member = self._make_member()
            while not self._stop_requested.is_set():
                batch = member.poll()
                with self._lock:
                    self._records.extend(batch)
                    self._assignment = member.assignment()
        except BaseException as e:  # reported to the test thread by check_alive() and stop()
            self.error = e
        finally:
            if member is not None:
                try:
                    member.commit_and_close()
                except BaseException as e:
                    self.error = self.error or e

    @property
    def records(self) -> list[Consumed]:
        with self._lock:
            return list(self._records)

    @property
    def assignment(self) -> set[int]:
        with self._lock:
            return set(self._assignment)

    def check_alive(self) -> None:
        if self.error is not None:
            raise AssertionError(f"group member failed: {self.error!r}") from self.error

    def stop(self, timeout_s: float = 60.0) -> None:
        self._stop_requested.set()
        self.join(timeout_s)
        assert not self.is_alive(), f"group member did not commit and close within {timeout_s}s"
        self.check_alive()


def read_to_high_watermark(bootstrap: str, topic: str, partitions: int, timeout_s: float = TIMEOUT_S) -> dict[int, list[Consumed]]:
    """Every record of every partition, from the log start to the high-water mark at call time."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"readback-{topic}", "enable.auto.commit": False}
    )
    try:
        out: dict[int, list[Consumed]] = {}
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=30)
            records: list[Consumed] = []
            if high > low:
                consumer.assign([confluent_kafka.TopicPartition(topic, p, low)])
                deadline = time.monotonic() + timeout_s
                while not records or records[-1].offset < high - 1:
                    assert time.monotonic() < deadline, f"partition {p}: read up to {records[-1].offset if records else None} of {low}..{high} in {timeout_s}s"
                    records.extend(_confluent_record(m) for m in consumer.consume(num_messages=1000, timeout=0.2))
                records = [r for r in records if r.offset < high]
            out[p] = records
        return out
    finally:
        consumer.close()
