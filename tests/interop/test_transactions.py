"""Kafka transactions with confluent-kafka (librdkafka) against a real `sluice server`.

- A transactional producer commits and aborts transactions over two topics: read_committed
  consumers see exactly the committed records, each once; read_uncommitted consumers see the
  aborted ones too; ListOffsets/watermarks agree with the last stable offset.
- send_offsets_to_transaction: the group's offsets move only when the transaction commits.
- A consume-transform-produce loop (txn_worker.py, its own process) is SIGKILLed mid-transaction,
  and in another run the server is SIGKILLed under it: read_committed consumers of the output see
  every input exactly once.
- kafka-python reads with isolation_level=read_committed too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import confluent_kafka
import kafka
from confluent_kafka import TopicPartition

from py_clients import create_topic_confluent
from sluice_harness import wait_until

TIMEOUT_S = 120.0
HERE = Path(__file__).parent


def txn_producer(bootstrap: str, txn_id: str) -> confluent_kafka.Producer:
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
    p.init_transactions(60)
    return p


def read_to_end(bootstrap: str, topic: str, partitions: int, isolation: str) -> list[tuple[int, int, bytes, bytes]]:
    """Every record of `topic` visible at `isolation`: reads until the consumer's position in each
    partition reaches the end offset the broker reports for that isolation level (the last stable
    offset for read_committed), so nothing later can still arrive."""
    c = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}-{isolation}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    try:
        tps = [TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(partitions)]
        c.assign(tps)
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
        out = []
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for m in c.consume(num_messages=1000, timeout=0.2):
                assert m.error() is None, m.error()
                out.append((m.partition(), m.offset(), m.key(), m.value()))
            positions = {tp.partition: tp.offset for tp in c.position([TopicPartition(topic, p) for p in range(partitions)])}
            if all(positions[p] >= ends[p] for p in range(partitions)):
                return out
            assert time.monotonic() < deadline, f"positions {positions} never reached {ends}"
    finally:
        c.close()


def produce_plain(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, int]]) -> None:
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for k, v, part in records:
        p.produce(topic, key=k, value=v, partition=part)
    assert p.flush(60) == 0


def test_committed_and_aborted_transactions_by_isolation_level(server):
    create_topic_confluent(server.bootstrap, "ta", 3)
    create_topic_confluent(server.bootstrap, "tb", 1)
    p = txn_producer(server.bootstrap, "txn-basic")
    expected_committed = {"ta": set(), "tb": set()}
    aborted = {"ta": set(), "tb": set()}
    for n, commit in enumerate([True, False, True, False, True]):
        p.begin_transaction()
        for i in range(20):
            key = f"t{n}-{i}".encode()
            p.produce("ta", key=key, value=b"a" + key, partition=i % 3)
            p.produce("tb", key=key, value=b"b" + key)
            (expected_committed if commit else aborted)["ta"].add(key)
            (expected_committed if commit else aborted)["tb"].add(key)
        # Flush first: librdkafka's abort would otherwise purge records not yet sent.
        assert p.flush(30) == 0
        if commit:
            p.commit_transaction(60)
        else:
            p.abort_transaction(60)
    # A plain (non-transactional) record between transactions is visible to both.
    produce_plain(server.bootstrap, "tb", [(b"plain", b"p", 0)])
    expected_committed["tb"].add(b"plain")
    for topic, parts in (("ta", 3), ("tb", 1)):
        committed = read_to_end(server.bootstrap, topic, parts, "read_committed")
        keys = [k for (_, _, k, _) in committed]
        assert len(keys) == len(set(keys)), "a record was read twice"
        assert set(keys) == expected_committed[topic]
        uncommitted = read_to_end(server.bootstrap, topic, parts, "read_uncommitted")
        assert {k for (_, _, k, _) in uncommitted} == expected_committed[topic] | aborted[topic]


def test_open_transaction_holds_back_read_committed_until_commit(server):
    create_topic_confluent(server.bootstrap, "lso", 1)
    produce_plain(server.bootstrap, "lso", [(b"before", b"1", 0)])
    p = txn_producer(server.bootstrap, "txn-lso")
    p.begin_transaction()
    for i in range(5):
        p.produce("lso", key=f"open{i}".encode(), value=b"x")
    p.flush(30)
    # Another producer writes after the open transaction: read_committed must not see it yet.
    produce_plain(server.bootstrap, "lso", [(b"after", b"2", 0)])
    c = confluent_kafka.Consumer({"bootstrap.servers": server.bootstrap, "group.id": "lso-check", "isolation.level": "read_committed"})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition("lso", 0), timeout=30)
        assert hi == 1, f"read_committed end offset {hi} while the transaction at offset 1 is open"
        keys = [k for (_, _, k, _) in read_to_end(server.bootstrap, "lso", 1, "read_committed")]
        assert keys == [b"before"]
        p.commit_transaction(60)
        lo, hi = c.get_watermark_offsets(TopicPartition("lso", 0), timeout=30)
        assert hi == 8, "after the commit the last stable offset is the high-water mark (5 + 2 records + marker)"
    finally:
        c.close()
    keys = [k for (_, _, k, _) in read_to_end(server.bootstrap, "lso", 1, "read_committed")]
    assert keys == [b"before"] + [f"open{i}".encode() for i in range(5)] + [b"after"]


def test_new_producer_fences_the_old_one_and_aborts_its_transaction(server):
    create_topic_confluent(server.bootstrap, "fence", 1)
    old = txn_producer(server.bootstrap, "txn-fence")
    old.begin_transaction()
    old.produce("fence", key=b"zombie", value=b"z")
    old.flush(30)
    new = txn_producer(server.bootstrap, "txn-fence")
    new.begin_transaction()
    new.produce("fence", key=b"fresh", value=b"f")
    new.commit_transaction(60)
    try:
        old.commit_transaction(30)
        raise AssertionError("the fenced producer committed")
    except confluent_kafka.KafkaException as e:
        err = e.args[0]
        assert err.fatal() or err.code() in (
            confluent_kafka.KafkaError._FENCED,
            confluent_kafka.KafkaError.PRODUCER_FENCED,
            confluent_kafka.KafkaError.INVALID_PRODUCER_EPOCH,
        ), err
    keys = [k for (_, _, k, _) in read_to_end(server.bootstrap, "fence", 1, "read_committed")]
    assert keys == [b"fresh"]


def test_send_offsets_to_transaction_commits_offsets_with_the_transaction(server):
    create_topic_confluent(server.bootstrap, "src", 1)
    create_topic_confluent(server.bootstrap, "dst", 1)
    produce_plain(server.bootstrap, "src", [(f"k{i}".encode(), b"v", 0) for i in range(10)])
    c = confluent_kafka.Consumer({"bootstrap.servers": server.bootstrap, "group.id": "ctp", "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.assign([TopicPartition("src", 0, 0)])
    p = txn_producer(server.bootstrap, "txn-offsets")
    for commit, upto in ((True, 4), (False, 7), (True, 10)):
        p.begin_transaction()
        p.produce("dst", key=b"x", value=str(upto).encode())
        assert p.flush(30) == 0
        offsets = [TopicPartition("src", 0, upto)]
        p.send_offsets_to_transaction(offsets, c.consumer_group_metadata(), 30)
        # Not visible before the end of the transaction.
        before = c.committed([TopicPartition("src", 0)], timeout=30)[0].offset
        assert before in (-1001, 4), before
        if commit:
            p.commit_transaction(60)
        else:
            p.abort_transaction(60)
        after = c.committed([TopicPartition("src", 0)], timeout=30)[0].offset
        assert after == (upto if commit else 4), (commit, upto, after)
    c.close()


def run_worker(bootstrap: str, tmp: Path, name: str, total: int, extra: list[str]) -> subprocess.Popen:
    log = open(tmp / f"{name}.log", "ab")
    return subprocess.Popen(
        [sys.executable, str(HERE / "txn_worker.py"), bootstrap, "in", "out", "ctp-group", "ctp-txn", str(total), "25", *extra],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen, wanted: str) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker exited ({proc.wait()}) before printing {wanted!r}")
        if line.strip() == wanted:
            return
    raise AssertionError(f"worker did not print {wanted!r}")


def finish_workers(server, tmp: Path, total: int) -> None:
    """Run workers (restarting after a fatal error, as an application would) until one finishes."""
    for attempt in range(5):
        proc = run_worker(server.bootstrap, tmp, f"worker-final-{attempt}", total, [])
        out, _ = proc.communicate(timeout=TIMEOUT_S * 2)
        if proc.returncode == 0:
            return
        assert proc.returncode == 3, f"worker failed with {proc.returncode}: {out}"
    raise AssertionError("no worker finished")


def check_exactly_once(server, total: int) -> None:
    out = read_to_end(server.bootstrap, "out", 2, "read_committed")
    keys = sorted(k for (_, _, k, _) in out)
    assert keys == sorted(f"k{i}".encode() for i in range(total)), f"{len(keys)} output records for {total} inputs"
    for part, _, key, value in out:
        assert value == f"v{key.decode()[1:]}".upper().encode()
    uncommitted = read_to_end(server.bootstrap, "out", 2, "read_uncommitted")
    assert len(uncommitted) > len(out), "the killed transaction's records should be in the log, aborted"


def setup_input(server, total: int) -> None:
    create_topic_confluent(server.bootstrap, "in", 2)
    create_topic_confluent(server.bootstrap, "out", 2)
    produce_plain(server.bootstrap, "in", [(f"k{i}".encode(), f"v{i}".encode(), i % 2) for i in range(total)])


def test_consume_transform_produce_survives_sigkill_of_the_client(server, tmp_path):
    total = 400
    setup_input(server, total)
    proc = run_worker(server.bootstrap, tmp_path, "worker-killed", total, ["--stall-at", "4"])
    wait_for_line(proc, "stalled")
    proc.kill()
    proc.wait()
    finish_workers(server, tmp_path, total)
    check_exactly_once(server, total)


def test_consume_transform_produce_survives_sigkill_of_the_server(server, tmp_path):
    total = 400
    setup_input(server, total)
    resume = tmp_path / "resume"
    proc = run_worker(server.bootstrap, tmp_path, "worker-stalled", total, ["--stall-at", "3", "--resume-file", str(resume)])
    wait_for_line(proc, "stalled")
    server.kill()
    server.start()
    # The worker now tries to commit a transaction the restarted coordinator aborted.
    resume.touch()
    proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode in (0, 3), proc.returncode
    finish_workers(server, tmp_path, total)
    check_exactly_once(server, total)


def test_kafka_python_reads_committed(server):
    create_topic_confluent(server.bootstrap, "kp", 1)
    p = txn_producer(server.bootstrap, "txn-kp")
    for n, commit in enumerate([True, False, True]):
        p.begin_transaction()
        for i in range(3):
            p.produce("kp", key=f"{n}-{i}".encode(), value=b"v")
        assert p.flush(30) == 0
        p.commit_transaction(60) if commit else p.abort_transaction(60)
    c = kafka.KafkaConsumer(
        bootstrap_servers=server.bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(TIMEOUT_S * 1000),
    )
    tp = kafka.TopicPartition("kp", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    keys = []
    deadline = time.monotonic() + TIMEOUT_S
    while c.position(tp) < end:
        assert time.monotonic() < deadline
        for recs in c.poll(timeout_ms=200).values():
            keys.extend(r.key for r in recs)
    c.close()
    assert keys == [f"{n}-{i}".encode() for n in (0, 2) for i in range(3)]


def test_kcat_reads_committed(server):
    from kcat_client import kcat_bin

    create_topic_confluent(server.bootstrap, "kc", 1)
    p = txn_producer(server.bootstrap, "txn-kcat")
    for n, commit in enumerate([True, False, True]):
        p.begin_transaction()
        for i in range(3):
            p.produce("kc", key=f"{n}-{i}".encode(), value=b"v")
        assert p.flush(30) == 0
        p.commit_transaction(60) if commit else p.abort_transaction(60)
    # An open transaction at the end: read_committed stops before it (kcat -e exits at the LSO).
    p.begin_transaction()
    p.produce("kc", key=b"open", value=b"v")
    assert p.flush(30) == 0

    def kcat(isolation: str) -> list[str]:
        result = subprocess.run(
            [kcat_bin(), "-C", "-b", server.bootstrap, "-t", "kc", "-o", "beginning", "-e", "-q",
             "-X", f"isolation.level={isolation}", "-f", "%k\\n"],
            capture_output=True, text=True, timeout=TIMEOUT_S,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout.split()

    assert kcat("read_committed") == [f"{n}-{i}" for n in (0, 2) for i in range(3)]
    assert kcat("read_uncommitted") == [f"{n}-{i}" for n in range(3) for i in range(3)] + ["open"]
    p.abort_transaction(60)
