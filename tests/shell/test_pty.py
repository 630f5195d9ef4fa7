"""The shell driven through a pseudo-terminal, as a person would: `sluice --data-dir tmp` starts a
local server with the demo stream and opens the REPL; a push query prints rows as they arrive;
Ctrl-C cancels the query and the prompt comes back; another statement runs; `exit` leaves and
stops the server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from sluice_harness import sluice_bin  # noqa: E402

PROMPT = "sluice> "
TIMEOUT_S = 60


def spawn(tmp_path: Path) -> pexpect.spawn:
    env = dict(os.environ, SLUICE_HISTORY=str(tmp_path / "history"), TERM="dumb", COLUMNS="120")
    child = pexpect.spawn(
        str(sluice_bin()),
        ["--data-dir", str(tmp_path / "data")],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT_S,
        dimensions=(40, 120),
    )
    child.logfile_read = sys.stdout
    return child


def test_push_query_streams_and_ctrl_c_returns_to_the_prompt(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    try:
        child.expect("Postgres wire on")
        child.expect("demo_orders")
        child.expect_exact(PROMPT)
        child.sendline(
            "CREATE STREAM orders (order_id BIGINT, customer_id STRING, amount DOUBLE, "
            "category STRING, quantity INT, ts STRING) "
            "WITH (KAFKA_TOPIC='demo_orders', VALUE_FORMAT='JSON');"
        )
        child.expect_exact(PROMPT)
        child.sendline("SELECT order_id, category, amount FROM orders EMIT CHANGES;")
        # The header, then rows from the live generator, one by one.
        child.expect("ORDER_ID \\| CATEGORY \\| AMOUNT")
        for _ in range(3):
            child.expect("\\d+ \\| (books|games|garden|music|tools) \\| [\\d.]+\r\n")
        child.sendintr()
        child.expect("Query cancelled")
        child.expect_exact(PROMPT)
        # The cancelled push query is gone from the server.
        child.sendline("SHOW QUERIES;")
        child.expect_exact(PROMPT)
        assert "PUSH" not in child.before, child.before
        child.sendline("SHOW STREAMS;")
        child.expect("ORDERS|orders")
        child.expect_exact(PROMPT)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
