"""kcat (librdkafka's command-line client) behind the scenario interface of py_clients.Client.

kcat cannot create topics, so `create_topic` uses librdkafka's admin client through confluent-kafka.
kcat does not report the offsets it was acknowledged at, so `produce` returns None and the scenarios
skip that one check. A group member is a `kcat -G` process: its records come from stdout, its
assignment from the "rebalanced ... assigned:" lines it writes to stderr, and stopping it with
SIGTERM makes it close the consumer, which commits the offsets it consumed.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from process_member import ProcessMember
from py_clients import create_topic_confluent
from workload import Consumed

TIMEOUT_S = 120.0
# kcat's output format: partition, offset, key, value, tab-separated (keys and values are ASCII
# without tabs or newlines in these suites).
FORMAT = r"%p\t%o\t%k\t%s\n"


def kcat_bin() -> str:
    path = shutil.which("kcat") or shutil.which("kafkacat")
    if path is None:
        raise FileNotFoundError("kcat not installed: apt-get install -y kcat")
    return path


def parse_line(line: str) -> Consumed:
    partition, offset, key, value = line.rstrip("\n").split("\t", 3)
    return Consumed(int(partition), int(offset), key.encode(), value.encode())


class Kcat:
    name = "kcat"

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def create_topic(self, topic: str, partitions: int) -> None:
        create_topic_confluent(self.bootstrap, topic, partitions)

    def produce(self, topic: str, records: list[tuple[bytes, bytes]], compression: str = "none") -> None:
        """`kcat -P` with keys, murmur2 partitioning (the Java client's) and acks=all."""
        stdin = b"".join(k + b"\t" + v + b"\n" for k, v in records)
        result = subprocess.run(
            [
                kcat_bin(), "-P", "-b", self.bootstrap, "-t", topic, "-K", "\t", "-z", compression,
                "-X", "partitioner=murmur2_random", "-X", "acks=all", "-X", "enable.idempotence=true",
                "-X", f"message.timeout.ms={int(TIMEOUT_S * 1000)}",
            ],
            input=stdin,
            capture_output=True,
            timeout=TIMEOUT_S + 30,
        )
        assert result.returncode == 0, f"kcat -P exited with {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}"
        assert b"ERROR" not in result.stderr, f"kcat -P reported errors: {result.stderr.decode(errors='replace')[-2000:]}"
        return None

    def read_all(self, topic: str, partitions: int, expected: int) -> list[Consumed]:
        """`kcat -C -o beginning -e`: every partition from its start until its end, then exit."""
        result = subprocess.run(
            [kcat_bin(), "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", FORMAT],
            capture_output=True,
            timeout=TIMEOUT_S,
            text=True,
        )
        assert result.returncode == 0, f"kcat -C exited with {result.returncode}: {result.stderr[-2000:]}"
        records = [parse_line(line) for line in result.stdout.splitlines() if line]
        assert len(records) == expected, f"kcat read {len(records)} records, expected {expected}; stderr: {result.stderr[-2000:]}"
        return records

    def group_member(self, topic: str, group: str) -> "KcatMember":
        return KcatMember(self.bootstrap, topic, group)


_ASSIGNED = re.compile(r"rebalanced.*assigned:(.*)")
_REVOKED = re.compile(r"rebalanced.*revoked:")
_PARTITION = re.compile(r"\[(\d+)\]")


class KcatMember(ProcessMember):
    """A `kcat -G -u` balanced consumer (-u: unbuffered, as its stdout is a pipe): records on
    stdout, "rebalanced ... assigned: t [0], t [2]" on stderr. enable.auto.commit stores each
    consumed offset and commits it when kcat closes."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(
            [
                kcat_bin(), "-b", bootstrap, "-G", group, "-u", "-f", FORMAT,
                "-X", "auto.offset.reset=earliest",
                "-X", "enable.auto.commit=true",
                "-X", "auto.commit.interval.ms=100",
                "-X", "session.timeout.ms=10000",
                "-X", "heartbeat.interval.ms=500",
                topic,
            ]
        )

    def on_stdout(self, line: str) -> None:
        self.add_record(parse_line(line))

    def on_stderr(self, line: str) -> None:
        if m := _ASSIGNED.search(line):
            self.set_assignment({int(p) for p in _PARTITION.findall(m.group(1))})
        elif _REVOKED.search(line):
            self.set_assignment(set())
