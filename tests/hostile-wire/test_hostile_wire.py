"""Hostile and broken Kafka input against one running `sluice server` (see conftest.py).

Each case sends one kind of bad input on a raw socket, checks the answer Kafka gives (an error
code, or the connection closed for a request that does not decode), and then that the same server
still serves a confluent-kafka producer and consumer and psycopg, within 1 GiB of peak RSS.
"""

from __future__ import annotations

import random
import struct
import uuid

import pytest

import hostile
import kafka_wire
from conftest import create_topic, round_trip
from hostile import Batch, Rec, records


def fresh_topic(server, config: dict | None = None) -> str:
    name = f"hostile-{uuid.uuid4().hex[:10]}"
    create_topic(server, name, config=config)
    return name


def produce_refused(server, topic: str, batch: bytes, expected: int) -> None:
    """The batch gets `expected` and the same connection still answers a request after it."""
    with kafka_wire.connect(server.bootstrap) as conn:
        error, _ = hostile.produce_error(conn, topic, batch)
        assert error == expected, f"error code {error}, expected {expected}"
        assert conn.api_versions()[0] == 0, "the connection must stay usable"


def high_watermark(server, topic: str) -> int:
    import confluent_kafka

    consumer = confluent_kafka.Consumer({"bootstrap.servers": server.bootstrap, "group.id": "hw"})
    try:
        _low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)
        return high
    finally:
        consumer.close()


def test_metadata_topic_array_claiming_2_31_entries(server, assert_healthy):
    with kafka_wire.connect(server.bootstrap) as conn:
        conn.send_raw(frame(3, 4, hostile.metadata_huge_topic_array()))
        assert conn.wait_closed(10), "a request that does not decode closes its connection"
    assert_healthy()


def test_create_topics_with_2_31_partitions_and_assignments(server, assert_healthy):
    with kafka_wire.connect(server.bootstrap) as conn:
        conn.send_raw(frame(19, 4, hostile.create_topics_huge()))
        assert conn.wait_closed(10)
    assert_healthy()


def test_batch_claiming_2_31_records(server, assert_healthy):
    topic = fresh_topic(server)
    produce_refused(server, topic, Batch(records(2), count=2**31 - 1).encode(), hostile.INVALID_RECORD)
    assert high_watermark(server, topic) == 0, "the refused batch moved the high-water mark"
    assert_healthy()


def test_record_claiming_2_31_headers(server, assert_healthy):
    topic = fresh_topic(server)
    payload = Rec(0, headers=2**31 - 1).encode()
    produce_refused(server, topic, Batch(payload, count=1).encode(), hostile.INVALID_RECORD)
    assert_healthy()


def test_record_count_differs_from_records_present(server, assert_healthy):
    topic = fresh_topic(server)
    produce_refused(server, topic, Batch(records(2), count=3).encode(), hostile.INVALID_RECORD)
    produce_refused(server, topic, Batch(records(3), count=2).encode(), hostile.INVALID_RECORD)
    assert high_watermark(server, topic) == 0
    assert_healthy()


def test_inner_offsets_0_0_0_are_rewritten(server, assert_healthy):
    import confluent_kafka

    topic = fresh_topic(server)
    payload = b"".join(Rec(0, value=f"v{i}".encode()).encode() for i in range(3))
    with kafka_wire.connect(server.bootstrap) as conn:
        error, base = hostile.produce_error(conn, topic, Batch(payload, count=3).encode())
    assert (error, base) == (0, 0)
    consumer = confluent_kafka.Consumer({"bootstrap.servers": server.bootstrap, "group.id": topic})
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        got = []
        for _ in range(40):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append((msg.offset(), msg.value()))
            if len(got) == 3:
                break
    finally:
        consumer.close()
    assert got == [(0, b"v0"), (1, b"v1"), (2, b"v2")]
    assert_healthy()


def test_control_batch_from_a_client(server, assert_healthy):
    topic = fresh_topic(server)
    batch = Batch(records(1), count=1, attributes=hostile.ATTR_CONTROL)
    produce_refused(server, topic, batch.encode(), hostile.INVALID_RECORD)
    assert_healthy()


def test_transactional_batch_from_a_producer_without_a_transaction(server, assert_healthy):
    topic = fresh_topic(server)
    batch = Batch(records(1), count=1, attributes=hostile.ATTR_TRANSACTIONAL, producer_id=4242, epoch=0, base_sequence=0)
    produce_refused(server, topic, batch.encode(), hostile.INVALID_TXN_STATE)
    assert_healthy()


def test_producer_id_with_sequence_minus_one(server, assert_healthy):
    topic = fresh_topic(server)
    batch = Batch(records(1), count=1, producer_id=0, epoch=7, base_sequence=-1)
    produce_refused(server, topic, batch.encode(), hostile.INVALID_RECORD)
    assert_healthy()


def test_timestamps_ten_years_ahead(server, assert_healthy):
    topic = fresh_topic(server, {"message.timestamp.after.max.ms": "3600000"})
    ten_years = 10 * 365 * 24 * 3600 * 1000
    batch = Batch(records(1), count=1, base_ts=hostile.now_ms() + ten_years)
    produce_refused(server, topic, batch.encode(), hostile.INVALID_TIMESTAMP)
    assert high_watermark(server, topic) == 0
    assert_healthy()


@pytest.mark.parametrize("codec", sorted(hostile.CODECS))
def test_compression_bomb(server, assert_healthy, codec):
    # max.message.bytes=65536 caps what a batch may inflate to; the bombs inflate to ~1.3 MiB
    # (gzip, snappy, lz4, zstd alike) from a few KiB.
    topic = fresh_topic(server, {"max.message.bytes": "65536"})
    payload = hostile.BOMBS[codec](1 + 64 * 20_000)
    assert len(payload) < 65536, len(payload)
    batch = Batch(payload, count=1000, attributes=hostile.CODECS[codec])
    produce_refused(server, topic, batch.encode(), hostile.CORRUPT_MESSAGE)
    assert_healthy()


@pytest.mark.parametrize("codec", sorted(hostile.CODECS))
def test_real_compressed_batches_still_pass_validation(server, codec):
    round_trip(server, compression=codec, n=50)


def test_seeded_random_frames(server, assert_healthy):
    """300 seeded random frames, most with a valid header of an API the server knows; each on its
    own connection, which the client then half-closes. Before decoding was bounded, this killed
    the process by frame 24."""
    rng = random.Random(15)
    apis = [(0, 9), (1, 12), (2, 7), (3, 12), (8, 8), (9, 8), (10, 4), (11, 9), (14, 5), (19, 7), (32, 4), (44, 1)]
    for i in range(300):
        body = bytearray(rng.randbytes(rng.randrange(0, 200)))
        if len(body) >= 4 and rng.random() < 0.5:
            at = rng.randrange(0, len(body) - 3)
            body[at : at + 4] = struct.pack(">i", 2**31 - 1)
        if rng.random() < 0.8:
            key, top = rng.choice(apis)
            data = frame(key, rng.randint(0, top), bytes(body))
        else:
            data = struct.pack(">i", max(len(body), 8)) + bytes(body).ljust(8, b"\x00")
        with kafka_wire.connect(server.bootstrap) as conn:
            conn.send_raw(data)
            conn.sock.shutdown(1)  # SHUT_WR: the server sees EOF after the frame
            assert conn.wait_closed(10), f"frame {i} left its connection open"
        assert server.is_running(), f"frame {i} killed the server\n{server.log_tail()}"
    assert_healthy()


def frame(api_key: int, version: int, body: bytes) -> bytes:
    """A request frame with header v1 (client id "hostile") around `body`."""
    payload = struct.pack(">hhi", api_key, version, 7) + kafka_wire.encode_nullable_string("hostile") + body
    return struct.pack(">i", len(payload)) + payload


def test_postgres_messages_that_panic_pgwire(server, assert_healthy):
    """Found by the pg_frontend fuzz target (fuzz/known-crashes/pg_frontend/): messages on which
    pgwire 0.41.1's decoders panic (a Bind parameter past the message's end, lengths that
    underflow in startup and COPY messages, reads past the buffer). Each is sent at the start of a
    connection and again after a completed startup: that connection ends, the server and its
    other connections go on."""
    import socket
    from pathlib import Path

    from conftest import pg_port

    crashes = sorted((Path(__file__).resolve().parents[2] / "fuzz/known-crashes/pg_frontend").glob("crash-*"))
    assert crashes
    port = pg_port(server)
    for crash in crashes:
        for after_startup in (False, True):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                if after_startup:
                    body = struct.pack(">i", 196608) + b"user\x00sluice\x00database\x00sluice\x00\x00"
                    sock.sendall(struct.pack(">i", len(body) + 4) + body)
                    seen = b""
                    while b"Z\x00\x00\x00\x05" not in seen:  # ReadyForQuery
                        chunk = sock.recv(65536)
                        assert chunk, f"the server closed during startup: {seen!r}"
                        seen += chunk
                sock.sendall(crash.read_bytes())
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(10)
                try:
                    while sock.recv(65536):
                        pass  # an ErrorResponse, then EOF; or EOF at once
                except (ConnectionResetError, socket.timeout):
                    pass
            assert server.is_running(), f"{crash.name} killed the server\n{server.log_tail()}"
    assert_healthy()
