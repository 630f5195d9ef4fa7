"""kafkajs (pure JavaScript, Node 20) behind the scenario interface of py_clients.Client.

Each call runs node/kafkajs-cli.js; `npm ci` in tests/interop/node must have installed kafkajs
(scripts/test and .ci/run do). The script prints records as "R\\tpartition\\toffset\\tkey\\tvalue"
lines and assignments as {"assigned": [...]} JSON lines.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from process_member import ProcessMember
from workload import Consumed

NODE_DIR = Path(__file__).resolve().parent / "node"
CLI = NODE_DIR / "kafkajs-cli.js"
TIMEOUT_S = 180.0


def node_argv(*args: str) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node not installed (Node 20 is needed for the kafkajs suite)")
    if not (NODE_DIR / "node_modules" / "kafkajs").is_dir():
        raise FileNotFoundError(f"kafkajs not installed: run `npm ci` in {NODE_DIR}")
    return [node, str(CLI), *args]


def parse_record(line: str) -> Consumed:
    tag, partition, offset, key, value = line.rstrip("\n").split("\t", 4)
    assert tag == "R", line
    return Consumed(int(partition), int(offset), key.encode(), value.encode())


def run(*args: str, stdin: bytes = b"") -> str:
    result = subprocess.run(node_argv(*args), input=stdin, capture_output=True, timeout=TIMEOUT_S + 30)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"kafkajs-cli.js {args[0]} exited with {result.returncode}: {stderr[-3000:]}"
    return result.stdout.decode()


class Kafkajs:
    name = "kafkajs"

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def create_topic(self, topic: str, partitions: int) -> None:
        run("create", self.bootstrap, topic, str(partitions))

    def produce(self, topic: str, records: list[tuple[bytes, bytes]], compression: str = "none") -> list[tuple[int, int]]:
        stdin = b"".join(k + b"\t" + v + b"\n" for k, v in records)
        acked = json.loads(run("produce", self.bootstrap, topic, compression, stdin=stdin))
        assert len(acked) == len(records), f"kafkajs acknowledged {len(acked)} of {len(records)} records"
        return [(p, o) for p, o in acked]

    def read_all(self, topic: str, partitions: int, expected: int) -> list[Consumed]:
        out = run("readall", self.bootstrap, topic, str(expected))
        return [parse_record(line) for line in out.splitlines() if line.startswith("R\t")]

    def group_member(self, topic: str, group: str) -> "KafkajsMember":
        return KafkajsMember(self.bootstrap, topic, group)


class KafkajsMember(ProcessMember):
    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(node_argv("member", bootstrap, topic, group))

    def on_stdout(self, line: str) -> None:
        if line.startswith("R\t"):
            self.add_record(parse_record(line))
        else:
            self.set_assignment(set(json.loads(line)["assigned"]))
