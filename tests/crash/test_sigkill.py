"""Acknowledged means durable: an idempotent acks=all producer writes continuously while the server
is killed with SIGKILL at random moments (sometimes while it is still starting up and recovering)
and restarted on the same data dir. At the end every acknowledged record is in the log exactly
once, at the partition and offset it was acknowledged with, and every partition holds each record
at most once in the order it was produced.

Reproduce a run with SLUICE_CRASH_SEED=<seed printed on failure>; SLUICE_CRASH_KILLS sets the
number of kills (default 20).
"""

from __future__ import annotations

import os
import random
import threading
import time

import confluent_kafka

from py_clients import create_topic_confluent, read_to_high_watermark
from sluice_harness import wait_until

KILLS = int(os.environ.get("SLUICE_CRASH_KILLS", "20"))
SEED = int(os.environ.get("SLUICE_CRASH_SEED", str(random.randrange(1 << 32))))
TOPIC = "crash"
PARTITIONS = 3
PROGRESS_TIMEOUT_S = 120.0
# Records the producer may have sent but not yet seen acknowledged (bounds memory and the amount of
# work that is in doubt at each kill).
MAX_IN_FLIGHT = 2_000


class ContinuousProducer(threading.Thread):
    """Produces record ids 0, 1, 2, ... until stopped; keeps every acknowledged id's (partition,
    offset). Keys repeat, so each partition receives an ordered subsequence of the ids."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.acked: dict[int, tuple[int, int]] = {}
        self.failed: dict[int, str] = {}
        self.fatal: list[str] = []
        self.sent = 0
        self._stop_requested = threading.Event()
        self.error: BaseException | None = None
        self.producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "linger.ms": 2,
                # Keep retrying across restarts: only a broker that loses or reorders data can make
                # this producer give up a record.
                "message.timeout.ms": 300_000,
                "reconnect.backoff.ms": 20,
                "reconnect.backoff.max.ms": 250,
                "retry.backoff.ms": 20,
                "error_cb": self._on_error,
                # Refused connections while the server is down are expected: log only worse.
                "log_level": 2,
            }
        )

    def _on_error(self, err) -> None:
        if err.fatal():
            with self.lock:
                self.fatal.append(str(err))

    def _on_delivery(self, record_id: int):
        def cb(err, msg):
            with self.lock:
                if err is None:
                    self.acked[record_id] = (msg.partition(), msg.offset())
                else:
                    self.failed[record_id] = str(err)

        return cb

    def run(self) -> None:
        try:
            while not self._stop_requested.is_set():
                with self.lock:
                    in_flight = self.sent - len(self.acked) - len(self.failed)
                if in_flight >= MAX_IN_FLIGHT:
                    self.producer.poll(0.05)
                    continue
                i = self.sent
                try:
                    self.producer.produce(TOPIC, key=f"k{i % 61}".encode(), value=f"id-{i:09d}".encode(), on_delivery=self._on_delivery(i))
                except BufferError:
                    self.producer.poll(0.05)
                    continue
                self.sent += 1
                self.producer.poll(0)
        except BaseException as e:
            self.error = e

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def check(self) -> None:
        assert self.error is None, f"producer thread failed: {self.error!r}"
        assert not self.fatal, f"librdkafka raised a fatal idempotent-producer error: {self.fatal}"

    def stop_and_flush(self, timeout_s: float) -> int:
        self._stop_requested.set()
        self.join(30)
        return self.producer.flush(timeout_s)


def test_acknowledged_records_survive_repeated_sigkill(server):
    rng = random.Random(SEED)
    print(f"SLUICE_CRASH_SEED={SEED}")
    create_topic_confluent(server.bootstrap, TOPIC, PARTITIONS)
    producer = ContinuousProducer(server.bootstrap)
    producer.start()

    for kill in range(KILLS):
        # Let the producer make progress against this incarnation of the server first, then kill
        # at a random moment, mid-stream.
        target = producer.acked_count() + rng.randint(20, 800)

        def progressed():
            producer.check()
            return producer.acked_count() >= target

        wait_until(f"producer to reach {target} acknowledged records before kill {kill + 1} (seed {SEED})", progressed, PROGRESS_TIMEOUT_S)
        time.sleep(rng.uniform(0, 0.2))  # a random point in the stream, not a wait for anything
        server.kill()
        if rng.random() < 0.25:
            # Crash again during start-up and recovery.
            server.spawn()
            time.sleep(rng.uniform(0, 0.1))
            server.kill()
        server.start()

    target = producer.acked_count() + 100
    wait_until("producer to make progress after the last restart", lambda: producer.check() or producer.acked_count() >= target, PROGRESS_TIMEOUT_S)
    remaining = producer.stop_and_flush(PROGRESS_TIMEOUT_S)
    producer.check()
    assert remaining == 0, f"{remaining} records still unacknowledged {PROGRESS_TIMEOUT_S}s after the last restart (seed {SEED})"

    log = read_to_high_watermark(server.bootstrap, TOPIC, PARTITIONS)
    check_log(log, producer.acked, producer.sent)
    print(f"{KILLS} kills; {producer.sent} records sent, {len(producer.acked)} acknowledged, {len(producer.failed)} failed")


def check_log(log, acked: dict[int, tuple[int, int]], sent: int) -> None:
    where: dict[int, tuple[int, int]] = {}
    for p, records in log.items():
        offsets = [r.offset for r in records]
        assert offsets == list(range(len(offsets))), f"partition {p}: offsets are not 0, 1, 2, ... (seed {SEED})"
        ids = []
        for r in records:
            assert r.value.startswith(b"id-"), f"partition {p} offset {r.offset}: unexpected value {r.value!r}"
            i = int(r.value[3:])
            assert 0 <= i < sent, f"partition {p} offset {r.offset}: id {i} was never sent"
            assert i not in where, f"id {i} is in the log twice: at {where[i]} and at ({p}, {r.offset}) (seed {SEED})"
            where[i] = (p, r.offset)
            ids.append(i)
        assert ids == sorted(ids), f"partition {p}: records out of produce order (seed {SEED})"
    lost = sorted(i for i in acked if i not in where)
    assert not lost, f"{len(lost)} acknowledged records are missing, e.g. ids {lost[:10]} acknowledged at {[acked[i] for i in lost[:10]]} (seed {SEED})"
    moved = [(i, acked[i], where[i]) for i in acked if where[i] != acked[i]]
    assert not moved, f"{len(moved)} acknowledged records are not where they were acknowledged, e.g. (id, acked at, found at) {moved[:5]} (seed {SEED})"
