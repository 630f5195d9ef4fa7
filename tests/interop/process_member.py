"""A consumer-group member that is another program (kcat, a kafkajs script), seen from Python.

Reader threads turn the program's output into records and assignment changes; `poll()` hands the
records over; stopping it sends SIGTERM, on which both kcat and kafkajs-cli.js close their consumer
(committing what they consumed and leaving the group) and exit.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time

from workload import Consumed

STOP_TIMEOUT_S = 60.0


class ProcessMember:
    def __init__(self, argv: list[str]):
        self.argv = argv
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._records: queue.Queue[Consumed] = queue.Queue()
        self._assigned: set[int] = set()
        self.stderr_lines: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.on_stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._on_stderr), daemon=True),
        ]
        for t in self._threads:
            t.start()

    # Subclasses parse their program's output here.
    def on_stdout(self, line: str) -> None:
        raise NotImplementedError

    def on_stderr(self, line: str) -> None:
        pass

    def add_record(self, record: Consumed) -> None:
        self._records.put(record)

    def set_assignment(self, partitions: set[int]) -> None:
        self._assigned = set(partitions)

    def _on_stderr(self, line: str) -> None:
        self.stderr_lines.append(line)
        self.on_stderr(line)

    @staticmethod
    def _pump(stream, handle) -> None:
        for line in stream:
            if line.strip():
                handle(line)

    def stderr_tail(self) -> str:
        return "".join(self.stderr_lines)[-2000:]

    def poll(self) -> list[Consumed]:
        code = self.process.poll()
        assert code is None, f"{self.argv[0]} exited with {code}: {self.stderr_tail()}"
        out = []
        deadline = time.monotonic() + 0.2
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                out.append(self._records.get(timeout=remaining))
            except queue.Empty:
                break
        return out

    def assignment(self) -> set[int]:
        return set(self._assigned)

    def commit_and_close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.argv[0]} did not exit within {STOP_TIMEOUT_S}s of SIGTERM: {self.stderr_tail()}") from None
        for t in self._threads:
            t.join(10)
        assert code == 0, f"{self.argv[0]} exited with {code} after SIGTERM: {self.stderr_tail()}"
        return code
