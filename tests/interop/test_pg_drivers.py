"""Postgres drivers against a real `sluice server`: psycopg 3 and node-postgres (node/pg-drivers.js)
run prepared statements with parameters and read a push query row by row, then cancel it; the
server stops the query and the connections keep working. node-postgres's pg-cursor reads a push
query a few rows at a time (Execute with a row count, PortalSuspended).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest

from sluice_harness import SluiceServer, wait_until

CREATE_ORDERS = (
    "CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING) "
    "WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1)"
)


def pg_port(server: SluiceServer) -> int:
    """The Postgres port the server picked (it is started with --pg-addr 127.0.0.1:0)."""

    def probe():
        match = re.search(r"Postgres wire listening on [^\s]*:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres listener line in the server log", probe, timeout_s=30)


def connect(server: SluiceServer) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", autocommit=True)


def push_queries(conn: psycopg.Connection) -> list[tuple]:
    """The rows of SHOW QUERIES for running push queries (Query Type PUSH)."""
    return [q for q in conn.execute("SHOW QUERIES").fetchall() if q[1] == "PUSH"]


def test_psycopg_prepared_statement_with_parameters(server):
    with connect(server) as conn:
        conn.execute(CREATE_ORDERS)
        for id_, amount, item in [("a", 10.5, "pen"), ("b", 250.0, "desk"), ("c", 99.0, "ink")]:
            conn.execute(
                "INSERT INTO orders (id, amount, item) VALUES (%s, %s, %s)", (id_, amount, item), prepare=True
            )
        rows = conn.execute(
            "SELECT id, amount, item FROM orders WHERE amount > %s", (50.0,), prepare=True
        ).fetchall()
        assert sorted(rows) == [("b", 250.0, "desk"), ("c", 99.0, "ink")]


def test_psycopg_push_query_read_row_by_row_then_cancelled(server):
    with connect(server) as conn, connect(server) as other:
        conn.execute(CREATE_ORDERS)
        for id_ in ["a", "b"]:
            conn.execute("INSERT INTO orders (id, amount, item) VALUES (%s, 1.0, 'pen')", (id_,))
        conn.execute("SET 'auto.offset.reset'='earliest'")

        seen = []
        cur = conn.cursor()
        with pytest.raises(psycopg.errors.QueryCanceled, match="canceling statement due to user request"):
            for row in cur.stream("SELECT id FROM orders EMIT CHANGES"):
                seen.append(row[0])
                if len(seen) == 2:
                    # While it runs, SHOW QUERIES lists it as a push query.
                    running = push_queries(other)
                    assert [q[5] for q in running] == ["SELECT id FROM orders EMIT CHANGES"], running
                    # A row produced while the query runs arrives too, then the cancel stops it.
                    other.execute("INSERT INTO orders (id, amount, item) VALUES ('c', 2.0, 'ink')")
                if len(seen) == 3:
                    threading.Thread(target=conn.cancel).start()
        assert seen == ["a", "b", "c"]

        # The server freed the query and both connections still work.
        assert push_queries(conn) == []
        streams = [r[0] for r in other.execute("SHOW STREAMS").fetchall()]
        assert "ORDERS" in streams
        assert conn.execute("SELECT id FROM orders").fetchall() == [("a",), ("b",), ("c",)]


def test_node_postgres_prepared_statement_cancelled_push_query_and_cursor(server):
    script = Path(__file__).parent / "node" / "pg-drivers.js"
    done = subprocess.run(
        ["node", str(script), str(pg_port(server))], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["prepared"] == [["b", 250], ["c", 99]]
    assert out["rows"] == ["a", "b", "c", "d"]
    assert out["cancel"] == {"code": "57014", "message": "canceling statement due to user request"}
    # pg-cursor read the push query two rows at a time, then one inserted while it waited.
    assert out["cursor"] == [["a", "b"], ["c", "d"], ["e"]]
    assert "ORDERS" in out["streams_after"]
    assert [q["Query String"] for q in out["queries_during"] if q["Query Type"] == "PUSH"] == [
        "SELECT id FROM orders EMIT CHANGES"
    ], out["queries_during"]
    assert [q for q in out["queries_after"] if q["Query Type"] == "PUSH"] == [], out["queries_after"]


def test_psycopg_in_its_default_transaction_mode(server):
    """psycopg without autocommit wraps statements in BEGIN ... COMMIT (every Sluice statement
    takes effect at once; the block only bounds portals) and recovers from an error by ROLLBACK."""
    with psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice") as conn:
        with conn.cursor() as cur:
            cur.execute(CREATE_ORDERS)
            cur.execute("INSERT INTO orders (id, amount, item) VALUES (%s, %s, %s)", ("a", 1.5, "pen"))
            cur.execute("INSERT INTO orders (id, amount, item) VALUES (%s, %s, %s)", ("b", 300.0, "desk"))
            conn.commit()
            cur.execute("SET 'auto.offset.reset'='earliest'")
            cur.execute("SELECT id, amount FROM orders WHERE amount > %s EMIT CHANGES LIMIT 1", (100,))
            assert cur.fetchall() == [("b", 300.0)]
            with pytest.raises(psycopg.errors.SyntaxErrorOrAccessRuleViolation, match="NOPE"):
                cur.execute("SELECT nope FROM orders")
            conn.rollback()
            cur.execute("SHOW STREAMS")
            assert "ORDERS" in [row[0] for row in cur.fetchall()]
