"""The `sluice topic` commands shown in README.md, checked against the server and against kcat.

`sluice topic produce` picks partitions with the broker's own murmur2 partitioner (the client of
the sluice crate), so a key must land where the Java client, kcat (murmur2_random) and this suite's
independent murmur2 put it; and what kcat produces, `sluice topic consume` reads.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from kcat_client import Kcat
from sluice_harness import sluice_bin
from workload import check_readback, keyed_records

TIMEOUT_S = 120


def sluice(server, *args: str, stdin: bytes = b"") -> str:
    result = subprocess.run(
        [str(sluice_bin()), "topic", "--bootstrap", server.bootstrap, *args],
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, f"sluice topic {' '.join(args)} exited with {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}"
    return result.stdout.decode()


def test_cli_produce_lands_on_murmur2_partitions_and_kcat_reads_it(server):
    sluice(server, "create", "cli-keys", "--partitions", "3")
    produced = keyed_records("cli", count=2_000)
    sluice(server, "produce", "cli-keys", "--key-separator", ":", stdin=b"".join(k + b":" + v + b"\n" for k, v in produced))
    consumed = Kcat(server.bootstrap).read_all("cli-keys", 3, len(produced))
    check_readback(produced, consumed)


def test_cli_consume_reads_what_kcat_produced(server):
    sluice(server, "create", "kcat-keys", "--partitions", "3")
    produced = keyed_records("kcat", count=2_000)
    Kcat(server.bootstrap).produce("kcat-keys", produced)
    out = sluice(server, "consume", "kcat-keys", "--from-beginning", "--print-key", "--key-separator", ":", "--max-messages", str(len(produced)), "--timeout-ms", "30000")
    lines = [line.split(":", 1) for line in out.splitlines() if line]
    assert sorted((k.encode(), v.encode()) for k, v in lines) == sorted(produced)


def test_cli_describe_lists_partitions_after_create(server):
    sluice(server, "create", "described", "--partitions", "3", "--config", "retention.ms=3600000")
    assert "described" in sluice(server, "list").split()
    description = sluice(server, "describe", "described")
    assert "retention.ms" in description and "3600000" in description, description




@pytest.mark.parametrize("command", [["list"], ["describe", "piped"], ["consume", "piped", "--from-beginning", "--max-messages", "10"]])
def test_cli_output_into_a_closed_pipe_does_not_panic(server, command):
    # `sluice topic ... | head -1`: once head has exited, writes fail with EPIPE. A CLI should stop
    # quietly (as cat or kcat do), not panic with a backtrace. The pipe's read end is closed before
    # the command starts, so its first write fails, deterministically.
    sluice(server, "create", "piped", "--partitions", "1")
    sluice(server, "produce", "piped", stdin=b"".join(b"line-%d\n" % i for i in range(10)))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [str(sluice_bin()), "topic", "--bootstrap", server.bootstrap, *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT_S,
        )
    finally:
        os.close(write_end)
    stderr = result.stderr.decode(errors="replace")
    assert "panicked" not in stderr, f"sluice topic {' '.join(command)} panicked on a closed stdout:\n{stderr[:600]}"
