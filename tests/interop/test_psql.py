"""psql 15 against a real `sluice server`: what a data engineer does first with Postgres tools.

Create a stream and insert values, see it with `\\d` and its columns with `\\d name`, read the rows
back with a transient query, and stream a push query with `COPY (...) TO STDOUT`, which psql
prints as rows arrive. psql runs as a subprocess exactly as a user would run it (`psql -X` so no
~/.psqlrc interferes); every statement's exit code is checked (`ON_ERROR_STOP`).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from sluice_harness import wait_until

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed (apt-get install postgresql-client)")

PSQL_TIMEOUT_S = 60


def pg_port(server) -> int:
    """The Postgres-wire port the server printed (it listens on a free port)."""

    def probe():
        match = re.search(r"Postgres wire listening on [\d.]+:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres-wire listener line", probe, timeout_s=30)


def psql(server, *args: str, sql: str | None = None) -> str:
    """Runs psql against `server` with `args` (and `sql` on stdin); returns stdout, fails on error."""
    command = [
        "psql",
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        str(pg_port(server)),
        "-U",
        "sluice",
        "-d",
        "sluice",
        *args,
    ]
    done = subprocess.run(command, input=sql, capture_output=True, text=True, timeout=PSQL_TIMEOUT_S)
    assert done.returncode == 0, f"psql {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


SETUP = """
CREATE STREAM orders (id INT KEY, item STRING, amount DOUBLE)
  WITH (kafka_topic='orders', value_format='JSON', partitions=1);
INSERT INTO orders (id, item, amount) VALUES (1, 'apple', 1.5);
INSERT INTO orders (id, item, amount) VALUES (2, 'pear', 2.25);
INSERT INTO orders (id, item, amount) VALUES (3, 'plum', 0.5);
INSERT INTO orders (id, item, amount) VALUES (4, 'fig', 3.0);
INSERT INTO orders (id, item, amount) VALUES (5, 'kiwi', 4.0);
INSERT INTO orders (id, item, amount) VALUES (6, 'lime', 0.75);
CREATE TABLE users (id STRING PRIMARY KEY, name STRING)
  WITH (kafka_topic='users', value_format='JSON', partitions=1);
"""


def test_psql_lists_describes_and_queries_a_stream(server):
    psql(server, sql=SETUP)

    # \d lists streams (as views) and tables, in schema public.
    listing = psql(server, "-c", r"\d")
    rows = {tuple(c.strip() for c in line.split("|")) for line in listing.splitlines() if "|" in line}
    assert ("public", "orders", "view", "sluice") in rows, listing
    assert ("public", "users", "table", "sluice") in rows, listing

    # \dt lists tables only, \dv streams only.
    tables = psql(server, "-c", r"\dt")
    assert re.search(r"public\s*\|\s*users\s*\|\s*table", tables), tables
    assert "orders" not in tables, tables
    views = psql(server, "-c", r"\dv")
    assert re.search(r"public\s*\|\s*orders\s*\|\s*view", views), views

    # \d orders shows its columns with their Postgres types.
    described = psql(server, "-c", r"\d orders")
    assert 'View "public.orders"' in described, described
    columns = [tuple(c.strip() for c in line.split("|"))[:2] for line in described.splitlines() if "|" in line]
    assert columns[1:] == [("id", "integer"), ("item", "text"), ("amount", "double precision")], described

    # A transient query from the beginning of the stream returns the rows (unaligned, no footer).
    selected = psql(
        server,
        "-A",
        "-t",
        sql="SET 'auto.offset.reset'='earliest';\n"
        "SELECT id, item FROM orders WHERE amount > 1 EMIT CHANGES LIMIT 4;\n",
    )
    rows = sorted(line for line in selected.splitlines() if "|" in line)
    assert rows == ["1|apple", "2|pear", "4|fig", "5|kiwi"], selected


def test_psql_lists_databases_and_schemas(server):
    databases = psql(server, "-c", r"\l")
    assert re.search(r"^\s*sluice\s*\|\s*sluice\s*\|\s*UTF8", databases, re.M), databases
    schemas = psql(server, "-c", r"\dn")
    assert re.search(r"^\s*public\s*\|\s*sluice", schemas, re.M), schemas


def test_psql_copy_of_a_push_query_streams_five_rows(server):
    psql(server, sql=SETUP)
    copied = psql(
        server,
        "-q",  # no command tags (SET): only the COPY data
        sql="SET 'auto.offset.reset'='earliest';\n"
        "COPY (SELECT id, item FROM orders EMIT CHANGES LIMIT 5) TO STDOUT;\n",
    )
    lines = [line for line in copied.splitlines() if line.strip()]
    assert len(lines) == 5, copied
    assert all(re.fullmatch(r"\d+\t\w+", line) for line in lines), copied
