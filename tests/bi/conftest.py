"""Fixtures of the BI-tool suite: one `sluice server` per test module (the tests of a module use
names of their own), started from tests/interop's harness, and helpers to reach its Postgres wire.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))

from sluice_harness import SluiceServer, wait_until  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sluice")
    srv = SluiceServer(data_dir=tmp / "data", log_dir=tmp / "logs")
    srv.start()
    yield srv
    was_running = srv.is_running()
    code = srv.stop()
    assert was_running, f"sluice server died during the tests\n{srv.log_tail()}"
    assert code == 0, f"sluice server exited with code {code} after SIGTERM\n{srv.log_tail()}"


def pg_port(server: SluiceServer) -> int:
    """The Postgres port the server picked (it is started with --pg-addr 127.0.0.1:0)."""

    def probe():
        match = re.search(r"Postgres wire listening on [^\s]*:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres listener line in the server log", probe, timeout_s=30)


def connect(server: SluiceServer, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", autocommit=autocommit
    )


def push_queries(conn: psycopg.Connection) -> list[tuple]:
    """The rows of SHOW QUERIES for running push queries."""
    return [q for q in conn.execute("SHOW QUERIES").fetchall() if q[1] == "PUSH"]


def wait_no_push_queries(conn: psycopg.Connection, what: str) -> None:
    wait_until(what, lambda: push_queries(conn) == [] or None, timeout_s=20)
