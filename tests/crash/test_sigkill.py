"""Acknowledged means durable: two idempotent acks=all producers write continuously while the server
is killed with SIGKILL at random moments (sometimes while it is still starting up and recovering)
and restarted on the same data dir. At the end every acknowledged record is in the log exactly
once, at the partition and offset it was acknowledged with, and every partition holds each record
at most once in the order it was produced.

Reproduce a run with SLUICE_CRASH_SEED=<seed printed on failure>; SLUICE_CRASH_KILLS sets the
number of kills (default 20).

SIGKILL kills the process, not the machine: written but not yet fsync'd bytes survive in the page
cache, so this proves the recovery path and idempotent retries, not fsync itself (the log's own
tests cover group commit).
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
    """Produces values "<name>-<id>" for ids 0, 1, 2, ... until stopped; keeps every acknowledged
    id's (partition, offset). Keys repeat, so each partition receives an ordered subsequence of the
    ids. Each instance is its own idempotent producer (its own producer id)."""

    def __init__(self, bootstrap: str, name: str):
        super().__init__(daemon=True)
        self.name = name
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
                    self.producer.produce(TOPIC, key=f"k{i % 61}".encode(), value=f"{self.name}-{i:09d}".encode(), on_delivery=self._on_delivery(i))
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
    producers = [ContinuousProducer(server.bootstrap, name) for name in ("a", "b")]
    for p in producers:
        p.start()

    def acked() -> int:
        for p in producers:
            p.check()
        return sum(p.acked_count() for p in producers)

    for kill in range(KILLS):
        # Let the producers make progress against this incarnation of the server first, then kill
        # at a random moment, mid-stream.
        target = acked() + rng.randint(20, 800)
        wait_until(f"producers to reach {target} acknowledged records before kill {kill + 1} (seed {SEED})", lambda: acked() >= target, PROGRESS_TIMEOUT_S)
        time.sleep(rng.uniform(0, 0.2))  # a random point in the stream, not a wait for anything
        server.kill()
        if rng.random() < 0.25:
            # Crash again during start-up and recovery.
            server.spawn()
            time.sleep(rng.uniform(0, 0.1))
            server.kill()
        server.start()

    target = acked() + 100
    wait_until("producers to make progress after the last restart", lambda: acked() >= target, PROGRESS_TIMEOUT_S)
    for p in producers:
        remaining = p.stop_and_flush(PROGRESS_TIMEOUT_S)
        p.check()
        assert remaining == 0, f"producer {p.name}: {remaining} records unacknowledged {PROGRESS_TIMEOUT_S}s after the last restart (seed {SEED})"

    log = read_to_high_watermark(server.bootstrap, TOPIC, PARTITIONS)
    check_log(log, producers)
    for p in producers:
        print(f"{KILLS} kills; producer {p.name}: {p.sent} records sent, {len(p.acked)} acknowledged, {len(p.failed)} failed")


def check_log(log, producers: list[ContinuousProducer]) -> None:
    by_name = {p.name: p for p in producers}
    where: dict[tuple[str, int], tuple[int, int]] = {}
    for partition, records in log.items():
        offsets = [r.offset for r in records]
        assert offsets == list(range(len(offsets))), f"partition {partition}: offsets are not 0, 1, 2, ... (seed {SEED})"
        ids: dict[str, list[int]] = {name: [] for name in by_name}
        for r in records:
            name, _, number = r.value.decode(errors="replace").partition("-")
            assert name in by_name and number.isdigit(), f"partition {partition} offset {r.offset}: unexpected value {r.value!r}"
            i = int(number)
            assert i < by_name[name].sent, f"partition {partition} offset {r.offset}: {name}-{i} was never sent"
            assert (name, i) not in where, f"{name}-{i} is in the log twice: at {where[(name, i)]} and at ({partition}, {r.offset}) (seed {SEED})"
            where[(name, i)] = (partition, r.offset)
            ids[name].append(i)
        for name, seq in ids.items():
            assert seq == sorted(seq), f"partition {partition}: producer {name}'s records out of produce order (seed {SEED})"
    for p in producers:
        lost = sorted(i for i in p.acked if (p.name, i) not in where)
        assert not lost, f"producer {p.name}: {len(lost)} acknowledged records are missing, e.g. ids {lost[:10]} acknowledged at {[p.acked[i] for i in lost[:10]]} (seed {SEED})"
        moved = [(i, p.acked[i], where[(p.name, i)]) for i in p.acked if where[(p.name, i)] != p.acked[i]]
        assert not moved, f"producer {p.name}: {len(moved)} acknowledged records are not where they were acknowledged, e.g. (id, acked at, found at) {moved[:5]} (seed {SEED})"
