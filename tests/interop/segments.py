"""Read the broker's partition directories from outside: which segment files exist and where the
RecordBatch v2 headers in them start.

The storage layout is the contract in docs/architecture.md ("Storage layout"):
`<data>/topics/<topic>/<partition>/<base-offset:020>.log` holds RecordBatch v2 bytes. A batch starts
with baseOffset:int64, batchLength:int32 (bytes after this field), partitionLeaderEpoch:int32,
magic:int8, crc:uint32, attributes:int16 (bits 0-2: compression codec), lastOffsetDelta:int32, ...
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


@dataclass(frozen=True)
class BatchHeader:
    position: int  # byte position of the batch in its segment file
    size: int  # whole batch, including the 12 bytes of baseOffset and batchLength
    base_offset: int
    magic: int
    attributes: int
    last_offset_delta: int

    @property
    def codec(self) -> int:
        return self.attributes & 0x7

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1


def partition_dir(data_dir: Path, topic: str, partition: int) -> Path:
    path = data_dir / "topics" / topic / str(partition)
    assert path.is_dir(), f"no partition directory {path} (storage layout changed? see docs/architecture.md)"
    return path


def segment_files(data_dir: Path, topic: str, partition: int) -> list[Path]:
    """The partition's .log files, oldest first (their names are zero-padded base offsets)."""
    return sorted(partition_dir(data_dir, topic, partition).glob("*.log"))


def batch_headers(segment: Path) -> list[BatchHeader]:
    """Every whole batch header in a segment file, stopping at the first that does not fit."""
    data = segment.read_bytes()
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base_offset, length, _epoch, magic, _crc, attributes, last_delta = struct.unpack_from(">qiibIhi", data, pos)
        size = 12 + length
        if length < 49 or pos + size > len(data):
            break
        out.append(BatchHeader(pos, size, base_offset, magic, attributes, last_delta))
        pos += size
    return out
