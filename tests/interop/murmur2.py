"""Kafka's default partitioner for keyed records, written here from the algorithm, independent of
both the broker and every client library under test.

Kafka's Java client picks `toPositive(murmur2(key)) % partitions`, where murmur2 is Austin
Appleby's MurmurHash2 (32-bit) with seed 0x9747b28c as in org.apache.kafka.common.utils.Utils, and
toPositive clears the sign bit (`& 0x7fffffff`, not abs()). test_murmur2.py checks this module
against Kafka's published test vectors and against kafka-python's implementation.
"""

from __future__ import annotations

_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24


def murmur2(data: bytes) -> int:
    """MurmurHash2 as Kafka's Java client computes it, as a signed 32-bit int (Java's `int`)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> _R
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length % 4
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's Java client (and a Kafka-compatible one) picks for a keyed record."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
