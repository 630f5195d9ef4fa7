"""Hand-built hostile Kafka input: record batches whose fields lie, compression bombs for every
codec, and the raw Produce / CreateTopics / Metadata requests that carry them.

Encodings follow the Kafka protocol guide (https://kafka.apache.org/protocol) and the record batch
v2 layout (https://kafka.apache.org/documentation/#recordbatch). The compressed bombs are written
by hand for the codecs the Python standard library lacks (snappy, lz4, zstd): each is a valid
stream whose output is far larger than its input.
"""

from __future__ import annotations

import gzip
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

import kafka_wire

API_PRODUCE = 0
API_CREATE_TOPICS = 19

CORRUPT_MESSAGE = 2
INVALID_TIMESTAMP = 32
INVALID_TXN_STATE = 48
INVALID_RECORD = 87

ATTR_TRANSACTIONAL = 1 << 4
ATTR_CONTROL = 1 << 5
CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


# --- CRC32C (Castagnoli), table-driven ------------------------------------------------------------

def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- records and batches ---------------------------------------------------------------------------

def varint(v: int) -> bytes:
    """Zigzag varint (signed, as the record format uses)."""
    z = (v << 1) ^ (v >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


@dataclass
class Rec:
    offset_delta: int
    ts_delta: int = 0
    key: Optional[bytes] = b"k"
    value: Optional[bytes] = b"value"
    headers: int = 0  # the header count written (no headers follow)

    def encode(self) -> bytes:
        body = b"\x00" + varint(self.ts_delta) + varint(self.offset_delta)
        for f in (self.key, self.value):
            body += varint(-1) if f is None else varint(len(f)) + f
        body += varint(self.headers)
        return varint(len(body)) + body


def records(n: int, **kw) -> bytes:
    return b"".join(Rec(i, **kw).encode() for i in range(n))


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Batch:
    """A v2 record batch; every header field may be set to a lie. The CRC is always valid."""

    payload: bytes
    count: int
    last_delta: Optional[int] = None
    attributes: int = 0
    base_ts: int = field(default_factory=now_ms)
    max_ts: Optional[int] = None
    producer_id: int = -1
    epoch: int = -1
    base_sequence: int = -1

    def encode(self) -> bytes:
        last_delta = self.count - 1 if self.last_delta is None else self.last_delta
        max_ts = self.base_ts if self.max_ts is None else self.max_ts
        after_crc = struct.pack(
            ">hiqqqhii",
            self.attributes,
            last_delta,
            self.base_ts,
            max_ts,
            self.producer_id,
            self.epoch,
            self.base_sequence,
            self.count,
        ) + self.payload
        after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
        return struct.pack(">qi", 0, len(after_length)) + after_length


# --- compression bombs -----------------------------------------------------------------------------

def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\x00" * size, 9)


def snappy_bomb(size: int) -> bytes:
    """Raw snappy: the length preamble, one literal byte, then copies of offset 1 (64 bytes each)."""
    out = bytearray()
    n = size
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    out += bytes([0x00, 0x00])  # literal of length 1: tag 0b000000_00, the byte 0
    remaining = size - 1
    while remaining > 0:
        length = min(64, remaining)
        if length < 4:
            length = 4  # the stream may then be longer than announced: still a decode error
        out += bytes([((length - 1) << 2) | 0b10]) + struct.pack("<H", 1)  # copy, 2-byte offset
        remaining -= length
    return bytes(out)


def _xxh32(data: bytes, seed: int = 0) -> int:
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    m = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed & m, (seed - p1) & m]
        while i + 16 <= n:
            for j in range(4):
                (lane,) = struct.unpack_from("<I", data, i + 4 * j)
                v[j] = (rotl((v[j] + lane * p2) & m, 13) * p1) & m
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while i + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, i)
        h = (rotl((h + lane * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


def lz4_bomb(size: int) -> bytes:
    """An LZ4 frame of 4 MiB blocks, each one literal, one long match of offset 1, five literals."""
    descriptor = bytes([0x60, 0x70])  # version 01, independent blocks; 4 MiB max block size
    out = bytearray(struct.pack("<I", 0x184D2204)) + descriptor
    out.append((_xxh32(descriptor) >> 8) & 0xFF)
    remaining = size
    while remaining > 0:
        block_out = min(remaining, 4 << 20)
        match_len = max(block_out - 6, 4)
        block = bytearray([0x1F, 0x00])  # token: 1 literal, match length 15+; the literal
        block += struct.pack("<H", 1)
        rest = match_len - 4 - 15
        while rest >= 255:
            block.append(255)
            rest -= 255
        block.append(rest)
        block += bytes([0x50]) + b"\x00" * 5  # last sequence: 5 literals
        out += struct.pack("<I", len(block)) + block
        remaining -= 1 + match_len + 5
    out += struct.pack("<I", 0)  # end mark
    return bytes(out)


def zstd_bomb(size: int) -> bytes:
    """A zstd frame of RLE blocks (each 128 KiB of zeros from 4 bytes)."""
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out += bytes([0x00, 0x38])  # no content size, no checksum; window 128 KiB
    block = 128 * 1024
    blocks = max(1, -(-size // block))
    for i in range(blocks):
        last = 1 if i == blocks - 1 else 0
        header = last | (1 << 1) | (block << 3)  # RLE block
        out += struct.pack("<I", header)[:3] + b"\x00"
    return bytes(out)


BOMBS = {"gzip": gzip_bomb, "snappy": snappy_bomb, "lz4": lz4_bomb, "zstd": zstd_bomb}


# --- requests --------------------------------------------------------------------------------------

def string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def produce_v3(topic: str, batch: bytes, partition: int = 0, acks: int = -1) -> bytes:
    return (
        struct.pack(">h", -1)  # transactional id: null
        + struct.pack(">hi", acks, 30_000)
        + struct.pack(">i", 1)
        + string(topic)
        + struct.pack(">i", 1)
        + struct.pack(">i", partition)
        + struct.pack(">i", len(batch))
        + batch
    )


def produce_error(conn: kafka_wire.RawConnection, topic: str, batch: bytes) -> tuple[int, int]:
    """Produce one batch (v3, acks=all); returns (error code, base offset) of the partition."""
    _, body = conn.request(API_PRODUCE, 3, produce_v3(topic, batch))
    (topics,) = struct.unpack_from(">i", body, 0)
    assert topics == 1, body
    (name_len,) = struct.unpack_from(">h", body, 4)
    pos = 6 + name_len
    (partitions,) = struct.unpack_from(">i", body, pos)
    assert partitions == 1, body
    _index, error, base_offset = struct.unpack_from(">ihq", body, pos + 4)
    return error, base_offset


def metadata_huge_topic_array() -> bytes:
    """Metadata v4 body whose topic array claims 2^31-1 entries (then one short name, and nothing
    for allow_auto_topic_creation)."""
    return struct.pack(">i", 2**31 - 1) + string("t")


def create_topics_huge() -> bytes:
    """CreateTopics v4 body: one topic asking for 2^31-1 partitions with an assignments array
    claiming 2^31-1 entries."""
    return struct.pack(">i", 1) + string("huge") + struct.pack(">ihi", 2**31 - 1, 1, 2**31 - 1)
