"""The test's own murmur2 is right: Kafka's known vectors and kafka-python agree with it.

Every keyed-partition assertion in this suite trusts murmur2.py, so it is checked first against two
independent sources: the vectors in Kafka's UtilsTest.testMurmur2 and kafka-python's partitioner.
"""

import random

import pytest
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from murmur2 import murmur2, partition_for_key

# org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints).
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key,expected", sorted(KAFKA_VECTORS.items()))
def test_matches_kafka_vectors(key, expected):
    assert murmur2(key) == expected


def test_matches_kafka_python_on_random_keys():
    rng = random.Random(20261123)
    keys = [b"", b"\x00", b"\xff\xff\xff", "ключ-ü".encode()]
    keys += [rng.randbytes(rng.randrange(0, 70)) for _ in range(5000)]
    for key in keys:
        # kafka-python returns the hash as an unsigned 32-bit value, ours is Java's signed int.
        assert murmur2(key) & 0xFFFFFFFF == kafka_python_murmur2(key) & 0xFFFFFFFF, key


def test_partition_clears_sign_bit_rather_than_abs():
    # murmur2(b"21") is negative: abs() would give 973932308 % 3 == 2, Kafka's & 0x7fffffff gives 0.
    assert murmur2(b"21") < 0
    assert partition_for_key(b"21", 3) == (-973932308 & 0x7FFFFFFF) % 3
    assert partition_for_key(b"21", 3) != abs(-973932308) % 3
