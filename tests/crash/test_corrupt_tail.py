"""A segment whose tail is damaged on disk recovers to the last valid batch on restart.

The server is stopped (gracefully, or killed), then the newest .log segment of the partition is
damaged the way a crash or a bad disk leaves it: its last bytes overwritten with garbage, garbage
reaching back into the batch before, or the file cut in the middle of a batch. On restart every
batch before the damage reads back intact, the high-water mark is the end of the last valid batch,
and new records are appended from there.
"""

from __future__ import annotations

import pytest

from py_clients import Confluent, create_topic_confluent, read_to_high_watermark
from segments import batch_headers, segment_files

TOPIC = "tail"
BATCHES = 10
PER_BATCH = 100
# 1,200 records are read in well under a second; a read that stalls means a damaged batch is served.
READ_TIMEOUT_S = 30.0


def produce_batches(bootstrap: str, start: int, batches: int) -> list[tuple[int, int]]:
    """Each call to Confluent.produce flushes, so each becomes one acks=all RecordBatch."""
    client = Confluent(bootstrap)
    acked = []
    for b in range(batches):
        records = [(b"k", f"v-{i:06d}".encode()) for i in range(start + b * PER_BATCH, start + (b + 1) * PER_BATCH)]
        acked += client.produce(TOPIC, records)
    return acked


def damage(segment, how: str) -> int:
    """Damage the segment's tail; returns how many whole batches at its end are now invalid."""
    headers = batch_headers(segment)
    assert len(headers) >= 3, f"expected >= 3 batches in {segment}, found {len(headers)}"
    last, previous = headers[-1], headers[-2]
    size = segment.stat().st_size
    assert size == last.position + last.size, f"{segment} has {size - last.position - last.size} bytes after its last batch"
    with open(segment, "r+b") as f:
        if how == "garbage-over-last-bytes":
            f.seek(size - 16)
            f.write(b"\xab" * 16)
            return 1
        if how == "garbage-into-previous-batch":
            n = last.size + previous.size // 2
            f.seek(size - n)
            f.write(bytes((i * 151 + 7) % 256 for i in range(n)))
            return 2
        if how == "truncated-mid-batch":
            f.truncate(last.position + last.size // 2)
            return 1
    raise ValueError(how)


@pytest.mark.parametrize("how", ["garbage-over-last-bytes", "garbage-into-previous-batch", "truncated-mid-batch"])
@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_damaged_tail_recovers_to_last_valid_batch(server, stop, how):
    create_topic_confluent(server.bootstrap, TOPIC, 1)
    acked = produce_batches(server.bootstrap, 0, BATCHES)
    assert [o for _, o in acked] == list(range(BATCHES * PER_BATCH))
    if stop == "sigterm":
        assert server.stop() == 0
    else:
        server.kill()

    segment = segment_files(server.data_dir, TOPIC, 0)[-1]
    headers = batch_headers(segment)
    invalid = damage(segment, how)
    valid_end = headers[-invalid - 1].next_offset

    server.start()
    log = read_to_high_watermark(server.bootstrap, TOPIC, 1, timeout_s=READ_TIMEOUT_S)[0]
    assert [r.offset for r in log] == list(range(valid_end)), f"after recovery the log holds offsets {log[0].offset if log else None}..{log[-1].offset if log else None}, expected 0..{valid_end - 1}"
    assert [r.value for r in log] == [f"v-{i:06d}".encode() for i in range(valid_end)]

    # Produce continues right after the last valid batch.
    more = produce_batches(server.bootstrap, 100_000, 2)
    assert [o for _, o in more] == list(range(valid_end, valid_end + 2 * PER_BATCH))
    log = read_to_high_watermark(server.bootstrap, TOPIC, 1, timeout_s=READ_TIMEOUT_S)[0]
    expected = [f"v-{i:06d}".encode() for i in range(valid_end)] + [f"v-{i:06d}".encode() for i in range(100_000, 100_000 + 2 * PER_BATCH)]
    assert [r.value for r in log] == expected
    assert [r.offset for r in log] == list(range(len(expected)))
