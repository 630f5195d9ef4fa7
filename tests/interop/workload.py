"""The records every client produces, and the checks every client's read-back must pass.

Each client suite produces the same shape of workload: RECORDS keyed records whose keys repeat (so
several records share a partition and their order there is observable) and vary in length (so
murmur2's 1-, 2- and 3-byte tails are exercised). A consumed record is a `Consumed` tuple; the
checks here are the specification of a correct read-back, shared by all clients.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, NamedTuple, Optional

from murmur2 import partition_for_key

RECORDS = 10_000
PARTITIONS = 3
# Records produced after the first consumer group has committed, to prove it resumes from there.
LATE_RECORDS = 1_000


class Consumed(NamedTuple):
    partition: int
    offset: int
    key: bytes
    value: bytes


def keyed_records(prefix: str, count: int = RECORDS, start: int = 0) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs; values are unique and carry their index so order can be checked."""
    out = []
    for i in range(start, start + count):
        key = f"key-{i % 997}-{'x' * (i % 7)}".encode()
        value = f"{prefix}-{i:06d}".encode()
        out.append((key, value))
    return out


def value_index(value: bytes) -> int:
    return int(value.rsplit(b"-", 1)[1])


def check_readback(
    produced: list[tuple[bytes, bytes]],
    consumed: Iterable[Consumed],
    partitions: int = PARTITIONS,
    first_offsets: Optional[dict[int, int]] = None,
) -> None:
    """Everything produced was consumed exactly once, on its murmur2 partition, in produce order,
    at contiguous offsets in every partition starting at `first_offsets[p]` (default 0)."""
    consumed = list(consumed)
    counts = Counter((c.key, c.value) for c in consumed)
    duplicates = [kv for kv, n in counts.items() if n > 1]
    assert not duplicates, f"{len(duplicates)} records consumed more than once, e.g. {duplicates[:3]}"
    missing = set(produced) - set(counts)
    assert not missing, f"{len(missing)} of {len(produced)} produced records never consumed, e.g. {sorted(missing)[:3]}"
    unexpected = set(counts) - set(produced)
    assert not unexpected, f"{len(unexpected)} consumed records were never produced, e.g. {sorted(unexpected)[:3]}"

    wrong_partition = [c for c in consumed if c.partition != partition_for_key(c.key, partitions)]
    assert not wrong_partition, (
        f"{len(wrong_partition)} records are not on their murmur2 partition, e.g. "
        + ", ".join(f"key {c.key!r} on {c.partition}, murmur2 says {partition_for_key(c.key, partitions)}" for c in wrong_partition[:3])
    )

    by_partition: dict[int, list[Consumed]] = defaultdict(list)
    for c in consumed:
        by_partition[c.partition].append(c)
    for p, records in sorted(by_partition.items()):
        records.sort(key=lambda c: c.offset)
        offsets = [c.offset for c in records]
        first = (first_offsets or {}).get(p, 0)
        expected = list(range(first, first + len(records)))
        assert offsets == expected, f"partition {p}: offsets are not contiguous from {first}: {_first_diff(offsets, expected)}"
        order = [value_index(c.value) for c in records]
        assert order == sorted(order), f"partition {p}: records are not in produce order at {_first_diff(order, sorted(order))}"


def check_group_split(assignments: list[set[int]], partitions: int = PARTITIONS) -> None:
    """Two members of a stable group share the partitions: disjoint, both busy, none left out."""
    assert len(assignments) == 2
    a, b = assignments
    assert a and b, f"a member got no partition: {assignments}"
    assert not (a & b), f"partitions assigned to both members: {sorted(a & b)}"
    assert a | b == set(range(partitions)), f"partitions assigned to no member: {sorted(set(range(partitions)) - (a | b))}"


def partitions_seen(records: Iterable[Consumed]) -> set[int]:
    return {c.partition for c in records}


def _first_diff(a: list, b: list) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"index {i}: got {x}, expected {y} (lengths {len(a)}, {len(b)})"
    return f"lengths {len(a)} vs {len(b)}"


def counts_by_partition(records: Iterable[Consumed]) -> dict[int, int]:
    return dict(Counter(c.partition for c in records))


def check_acks_match(produced: list[tuple[bytes, bytes]], acked: list[tuple[int, int]], consumed: Iterable[Consumed]) -> None:
    """The (partition, offset) the broker acknowledged for each record is where a consumer finds it."""
    where = {c.value: (c.partition, c.offset) for c in consumed}
    wrong = [(v, a, where.get(v)) for (_, v), a in zip(produced, acked) if where.get(v) != a]
    assert not wrong, f"{len(wrong)} records were acknowledged at another (partition, offset) than where they are read, e.g. {wrong[:3]}"
