"""Hand-encoded Kafka requests that no client library would send: huge counts, repeats, internal
topics, record batches with forged headers. Encodings follow https://kafka.apache.org/protocol
(non-flexible versions only, so every field is a fixed-width int or an int16/int32-prefixed string
or array). `kafka_wire.RawConnection` (tests/interop) does the framing.
"""

from __future__ import annotations

import struct
from typing import Optional

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_JOIN_GROUP = 11
API_CREATE_TOPICS = 19
API_DELETE_TOPICS = 20
API_DELETE_RECORDS = 21
API_ALTER_CONFIGS = 33
API_CREATE_PARTITIONS = 37
API_INCREMENTAL_ALTER_CONFIGS = 44

INVALID_TOPIC_EXCEPTION = 17
INVALID_PARTITIONS = 37
INVALID_REQUEST = 42
GROUP_MAX_SIZE_REACHED = 81

RESOURCE_TOPIC = 2


def s16(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def ns16(s: Optional[str]) -> bytes:
    return struct.pack(">h", -1) if s is None else s16(s)


def array(items: list[bytes]) -> bytes:
    return struct.pack(">i", len(items)) + b"".join(items)


def nbytes(b: Optional[bytes]) -> bytes:
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


class Reader:
    """Reads big-endian fields off a response body."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> Optional[str]:
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self) -> Optional[bytes]:
        n = self.take(">i")
        if n < 0:
            return None
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b


# --- CRC-32C (Castagnoli), as RecordBatch v2 uses it -------------------------------------------

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record(offset_delta: int, key: Optional[bytes], value: Optional[bytes], timestamp_delta: int = 0) -> bytes:
    body = bytes([0]) + varint(timestamp_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(0)  # headers
    return varint(len(body)) + body


def batch(
    records: list[tuple[Optional[bytes], Optional[bytes]]],
    *,
    base_offset: int = 0,
    timestamp: int = 1_700_000_000_000,
    records_count: Optional[int] = None,
    last_offset_delta: Optional[int] = None,
    raw_records: Optional[bytes] = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
) -> bytes:
    """A RecordBatch v2 with a correct CRC; the counts may be forged."""
    body = raw_records if raw_records is not None else b"".join(record(i, k, v) for i, (k, v) in enumerate(records))
    count = len(records) if records_count is None else records_count
    last = count - 1 if last_offset_delta is None else last_offset_delta
    after_crc = struct.pack(">hiqqqhii", 0, last, timestamp, timestamp, producer_id, producer_epoch, base_sequence, count) + body
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", base_offset, len(after_length)) + after_length


# --- Requests ---------------------------------------------------------------------------------


def produce_v3(topic: str, partition: int, records: bytes, acks: int = -1) -> bytes:
    return ns16(None) + struct.pack(">hi", acks, 10_000) + array([s16(topic) + array([struct.pack(">i", partition) + nbytes(records)])])


def parse_produce_v3(body: bytes) -> list[tuple[str, int, int, int]]:
    """(topic, partition, error code, base offset) per partition."""
    r = Reader(body)
    out = []
    for _ in range(r.take(">i")):
        name = r.string()
        for _ in range(r.take(">i")):
            index, error, base, _append_time = r.take(">ihqq")
            out.append((name, index, error, base))
    return out


def fetch_v4(topic: str, partitions: list[tuple[int, int]], max_bytes: int, partition_max_bytes: int, max_wait_ms: int = 0) -> bytes:
    parts = [struct.pack(">iqi", p, offset, partition_max_bytes) for p, offset in partitions]
    return struct.pack(">iiiib", -1, max_wait_ms, 1, max_bytes, 0) + array([s16(topic) + array(parts)])


def metadata_v4(topics: list[str], allow_auto_create: bool = True) -> bytes:
    return array([s16(t) for t in topics]) + struct.pack(">?", allow_auto_create)


def parse_metadata_v4(body: bytes) -> dict[str, tuple[int, bool, int]]:
    """topic -> (error code, is_internal, partition count)."""
    r = Reader(body)
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):
        r.take(">i")
        r.string()
        r.take(">i")
        r.string()
    r.string()  # cluster id
    r.take(">i")  # controller
    out = {}
    for _ in range(r.take(">i")):
        error = r.take(">h")
        name = r.string()
        internal = r.take(">?")
        n = r.take(">i")
        for _ in range(n):
            r.take(">hii")
            for _ in range(2):  # replicas, isr
                count = r.take(">i")
                r.pos += 4 * max(count, 0)
        out[name] = (error, internal, n)
    return out


def create_topics_v2(topics: list[tuple[str, int]], configs: Optional[dict[str, str]] = None) -> bytes:
    cfg = array([s16(k) + ns16(v) for k, v in (configs or {}).items()])
    items = [s16(name) + struct.pack(">ih", n, 1) + array([]) + cfg for name, n in topics]
    return array(items) + struct.pack(">i?", 10_000, False)


def parse_create_topics_v2(body: bytes) -> dict[str, int]:
    r = Reader(body)
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        name = r.string()
        out[name] = r.take(">h")
        r.string()
    return out


def delete_topics_v1(names: list[str]) -> bytes:
    return array([s16(n) for n in names]) + struct.pack(">i", 10_000)


def parse_delete_topics_v1(body: bytes) -> dict[str, int]:
    r = Reader(body)
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        name = r.string()
        out[name] = r.take(">h")
    return out


def create_partitions_v0(topic: str, count: int) -> bytes:
    return array([s16(topic) + struct.pack(">i", count) + struct.pack(">i", -1)]) + struct.pack(">i?", 10_000, False)


def parse_create_partitions_v0(body: bytes) -> dict[str, int]:
    r = Reader(body)
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        name = r.string()
        out[name] = r.take(">h")
        r.string()
    return out


def delete_records_v0(topic: str, partition: int, offset: int) -> bytes:
    return array([s16(topic) + array([struct.pack(">iq", partition, offset)])]) + struct.pack(">i", 10_000)


def parse_delete_records_v0(body: bytes) -> list[tuple[int, int, int]]:
    """(partition, low watermark, error code)."""
    r = Reader(body)
    r.take(">i")
    out = []
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            out.append(r.take(">iqh"))
    return out


def incremental_alter_configs_v0(topic: str, configs: list[tuple[str, int, Optional[str]]]) -> bytes:
    entries = [s16(name) + struct.pack(">b", op) + ns16(value) for name, op, value in configs]
    return array([struct.pack(">b", RESOURCE_TOPIC) + s16(topic) + array(entries)]) + struct.pack(">?", False)


def alter_configs_v0(topic: str, configs: dict[str, str]) -> bytes:
    entries = [s16(k) + ns16(v) for k, v in configs.items()]
    return array([struct.pack(">b", RESOURCE_TOPIC) + s16(topic) + array(entries)]) + struct.pack(">?", False)


def parse_alter_configs_v0(body: bytes) -> list[tuple[int, str]]:
    """(error code, resource name) per resource (AlterConfigs and IncrementalAlterConfigs v0)."""
    r = Reader(body)
    r.take(">i")
    out = []
    for _ in range(r.take(">i")):
        error = r.take(">h")
        r.string()
        r.take(">b")
        out.append((error, r.string()))
    return out


def join_group_v1(group: str, protocols: list[tuple[str, bytes]], member_id: str = "") -> bytes:
    items = [s16(name) + nbytes(meta) for name, meta in protocols]
    return s16(group) + struct.pack(">ii", 10_000, 10_000) + s16(member_id) + s16("consumer") + array(items)


def join_group_error(body: bytes) -> int:
    return struct.unpack_from(">h", body, 0)[0]
