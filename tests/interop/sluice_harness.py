"""Start, stop and kill a real `sluice server` process for the interop and crash suites.

Every test gets its own server on a free loopback port and a fresh data directory, so tests never
share state and never depend on a fixed port. Everything that waits does so by polling with a
deadline (`wait_until`), never by sleeping a fixed time and hoping.

The binary is `$SLUICE_BIN` if set, else `$CARGO_TARGET_DIR/debug/sluice` (CARGO_TARGET_DIR
defaults to ~/.cache/sluice-target, as in scripts/test).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, TypeVar

import kafka_wire

T = TypeVar("T")

# How long a server may take to start (open and recover its data dir) before a test gives up.
START_TIMEOUT_S = float(os.environ.get("SLUICE_START_TIMEOUT_S", "60"))
# How long a server may take to shut down gracefully after SIGTERM.
STOP_TIMEOUT_S = 30.0


def sluice_bin() -> Path:
    """The sluice binary under test; raises with a hint when it has not been built."""
    explicit = os.environ.get("SLUICE_BIN")
    if explicit:
        path = Path(explicit)
    else:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/sluice-target")
        path = Path(target) / "debug" / "sluice"
    if not path.is_file():
        raise FileNotFoundError(
            f"sluice binary not found at {path}: build it with `cargo build -p sluice` "
            "or point SLUICE_BIN at it"
        )
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago (the server retries if it got taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, probe: Callable[[], Optional[T]], timeout_s: float, interval_s: float = 0.05) -> T:
    """Poll `probe` until it returns something other than None/False; fail after `timeout_s`.

    Exceptions from the probe count as "not yet", except `WaitAborted`, which ends the wait."""
    deadline = time.monotonic() + timeout_s
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except WaitAborted:
            raise
        except Exception as e:  # the probe may fail while the thing it waits for is not ready
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}{detail}")
        time.sleep(interval_s)


@dataclass
class SluiceServer:
    """One `sluice server` process on `127.0.0.1:port` with its data in `data_dir`.

    `start()` may be called again after `kill()` or `stop()`: the server comes back on the same
    data dir and the same port, which is what the crash suite needs (clients keep their bootstrap
    address across restarts).
    """

    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: Optional[subprocess.Popen] = None
    starts: int = 0
    extra_args: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"sluice-server-{self.starts}.log"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> "SluiceServer":
        """Start the server and return once it answers an ApiVersions request."""
        assert self.process is None or self.process.poll() is not None, "server already running"
        deadline = time.monotonic() + timeout_s
        # A port that was free when chosen may be held briefly by another process (or, on restart,
        # by our own killed server's sockets): retry the bind until the deadline.
        while True:
            self.spawn()
            try:
                wait_until(
                    f"sluice server on {self.bootstrap} to answer ApiVersions",
                    self._ready,
                    timeout_s=max(0.1, deadline - time.monotonic()),
                )
                return self
            except ServerExited as exited:
                if "in use" in exited.log_tail.lower() and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise
            except TimeoutError as e:
                self.kill()
                raise TimeoutError(f"{e}\n--- server log ({self.log_path}) ---\n{self.log_tail()}") from None

    def spawn(self) -> None:
        """Start the server process without waiting for it (the crash suite kills it mid-start)."""
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("RUST_BACKTRACE", "1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(sluice_bin()),
                    "server",
                    "--data-dir",
                    str(self.data_dir),
                    "--kafka-addr",
                    self.bootstrap,
                    # A free Postgres-wire port: servers of parallel or overlapping tests (and any
                    # other server on this machine) must not fight over the default 5433.
                    "--pg-addr",
                    "127.0.0.1:0",
                    *self.extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def _ready(self) -> bool:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            raise ServerExited(code, self.log_tail())
        try:
            with kafka_wire.connect(self.bootstrap, timeout_s=1.0) as conn:
                error, versions = conn.api_versions()
                return error == 0 and bool(versions)
        except OSError:
            return False

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the server (a crash: no flush, no clean-shutdown marker) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> int:
        """SIGTERM the server, wait for a graceful exit; SIGKILL if it does not come. Returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"sluice server did not exit within {STOP_TIMEOUT_S}s of SIGTERM\n{self.log_tail()}"
                ) from None
        return self.process.returncode

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


class WaitAborted(Exception):
    """Raised by a probe when waiting longer cannot help: `wait_until` gives up at once."""


class ServerExited(WaitAborted):
    """The server process exited while we waited for it to become ready."""

    def __init__(self, code: int, log_tail: str):
        super().__init__(f"sluice server exited with code {code} before it was ready\n{log_tail}")
        self.code = code
        self.log_tail = log_tail
