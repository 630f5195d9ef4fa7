"""psql's describe commands and tab completion over Sluice's catalog: `\\dt+` lists tables with
their details, `\\dv` streams, `\\di` a table's primary key index, `\\df` runs (Sluice has no
user-defined functions), and tab completion finds a stream's name.

Known gap: `\\d name` of a table and `\\d+ name` of any relation send correlated subqueries
(over pg_policy, and `unnest` of an outer column) that DataFusion cannot plan yet; `\\d name` of a
stream works (tests/interop/test_psql.py).
"""

from __future__ import annotations

import shutil
import subprocess

import pexpect
import pytest

from conftest import connect, pg_port

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")


@pytest.fixture(scope="module")
def relations(server):
    with connect(server) as conn:
        conn.execute(
            "CREATE STREAM ps_clicks (id STRING KEY, url STRING) "
            "WITH (KAFKA_TOPIC='ps_clicks', VALUE_FORMAT='JSON', PARTITIONS=1)"
        )
        conn.execute(
            "CREATE TABLE ps_users (id STRING PRIMARY KEY, name STRING) "
            "WITH (KAFKA_TOPIC='ps_users', VALUE_FORMAT='JSON', PARTITIONS=1)"
        )


def psql(server, command: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg_port(server)), "-U", "sluice",
         "-d", "sluice", "-c", command],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"psql {command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_describe_commands(server, relations):
    tables = psql(server, "\\dt+")
    assert "ps_users" in tables and "table" in tables and "permanent" in tables
    assert "ps_clicks" not in tables
    views = psql(server, "\\dv")
    assert "ps_clicks" in views
    indexes = psql(server, "\\di")
    assert "ps_users_pkey" in indexes and "ps_users" in indexes
    functions = psql(server, "\\df")
    assert "List of functions" in functions and "(0 rows)" in functions
    columns = psql(server, "\\d ps_clicks")
    assert "id" in columns and "url" in columns


def test_tab_completion_of_names(server, relations):
    child = pexpect.spawn(
        "psql", ["-X", "-h", "127.0.0.1", "-p", str(pg_port(server)), "-U", "sluice", "-d", "sluice"],
        encoding="utf-8", timeout=20,
    )
    try:
        child.expect("sluice=")
        child.send("SELECT * FROM ps_cl\t")
        child.expect("ps_clicks")
        child.sendline(";")
        child.expect("(0 rows)|ID")
    finally:
        child.sendline("\\q")
        child.close(force=True)
