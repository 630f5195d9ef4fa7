"""The two scenarios every client runs: a keyed produce/read-back round trip, and a consumer group
of two members that splits the partitions and, after both members are restarted, resumes from the
offsets it committed.

A client is anything with `name`, `create_topic`, `produce` (returning the acknowledged
(partition, offset) of each record, or None when the client does not report it), `read_all` and
`group_member` (see py_clients.Client); kcat and kafkajs drive external processes behind the same
interface.
"""

from __future__ import annotations

import confluent_kafka

from py_clients import MemberThread
from sluice_harness import wait_until
from workload import (
    LATE_RECORDS,
    PARTITIONS,
    RECORDS,
    check_acks_match,
    check_group_split,
    check_readback,
    counts_by_partition,
    keyed_records,
    partitions_seen,
)

TIMEOUT_S = 180.0


def produce_and_read_back(client, topic: str) -> None:
    client.create_topic(topic, PARTITIONS)
    produced = keyed_records(client.name)
    acked = client.produce(topic, produced)
    consumed = client.read_all(topic, PARTITIONS, len(produced))
    check_readback(produced, consumed)
    if acked is not None:
        check_acks_match(produced, acked, consumed)


def group_splits_and_resumes(client, bootstrap: str, topic: str, group: str) -> None:
    client.create_topic(topic, PARTITIONS)

    # Both members are in the group, sharing the partitions, before anything is produced: records
    # then go to the member owning their partition, with no rebalance in between.
    produced = keyed_records(client.name)
    first = _run_group(client, topic, group, produced)
    check_group_split([partitions_seen(m) for m in first])
    consumed = [c for m in first for c in m]
    check_readback(produced, consumed)

    # The members committed what they consumed when they stopped: OffsetFetch says so.
    end_offsets = counts_by_partition(consumed)
    assert committed_offsets(bootstrap, topic, group) == {p: end_offsets.get(p, 0) for p in range(PARTITIONS)}

    # New members of the same group resume after the committed offsets: with auto.offset.reset =
    # earliest, a group that lost its offsets would read the first RECORDS records again.
    late = keyed_records(client.name, LATE_RECORDS, start=RECORDS)
    second = _run_group(client, topic, group, late)
    check_readback(late, [c for m in second for c in m], first_offsets=end_offsets)


def _run_group(client, topic: str, group: str, records: list[tuple[bytes, bytes]]):
    members = [MemberThread(lambda: client.group_member(topic, group)) for _ in range(2)]
    for m in members:
        m.start()
    try:

        def split():
            for m in members:
                m.check_alive()
            try:
                check_group_split([m.assignment for m in members])
                return True
            except AssertionError:
                return False

        wait_until(f"two {client.name} members of group {group} to share the partitions", split, timeout_s=TIMEOUT_S)
        client.produce(topic, records)

        def all_consumed():
            for m in members:
                m.check_alive()
            return sum(len(m.records) for m in members) >= len(records)

        wait_until(f"{client.name} group {group} to consume {len(records)} records", all_consumed, timeout_s=TIMEOUT_S)
    finally:
        for m in members:
            if m.is_alive():
                m.stop()
    return [m.records for m in members]


def committed_offsets(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    """OffsetFetch through librdkafka for every partition of `topic` (-1001 when none committed)."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = consumer.committed([confluent_kafka.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
        return {tp.partition: tp.offset for tp in parts}
    finally:
        consumer.close()
