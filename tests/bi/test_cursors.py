"""SQL cursors: psycopg's server-side (named) cursors read a push query in batches with
DECLARE / FETCH and stop it with CLOSE; the cursor statements behave as PostgreSQL's do
(transaction blocks, WITH HOLD, forward-only, errors with their SQLSTATEs).
"""

from __future__ import annotations

import psycopg
import pytest

from conftest import connect, push_queries, wait_no_push_queries

CREATE = (
    "CREATE STREAM cur_orders (id STRING KEY, n BIGINT) "
    "WITH (KAFKA_TOPIC='cur_orders', VALUE_FORMAT='JSON', PARTITIONS=1)"
)


@pytest.fixture(scope="module")
def orders(server):
    with connect(server) as conn:
        conn.execute(CREATE)
        for i in range(1, 8):
            conn.execute(f"INSERT INTO cur_orders (id, n) VALUES ('c{i}', {i})")
    return "cur_orders"


def test_psycopg_named_cursor_fetches_a_push_query_in_batches_and_closes_it(server, orders):
    with connect(server, autocommit=False) as conn, connect(server) as watcher:
        conn.execute("SET 'auto.offset.reset'='earliest'")
        cursor = conn.cursor("orders_cursor")
        cursor.execute(f"SELECT id, n FROM {orders} EMIT CHANGES")
        assert [d.name for d in cursor.description] == ["ID", "N"]
        assert len(push_queries(watcher)) == 1
        first = cursor.fetchmany(3)
        second = cursor.fetchmany(3)
        assert len(first) == 3 and len(second) == 3
        assert sorted(r[1] for r in first + second) == [1, 2, 3, 4, 5, 6]
        assert cursor.fetchone()[1] == 7
        cursor.close()
        # CLOSE stopped the push query.
        wait_no_push_queries(watcher, "the cursor's push query to stop after CLOSE")
        conn.commit()


def test_commit_closes_cursors_but_held_ones(server, orders):
    with connect(server) as conn, connect(server) as watcher:
        conn.execute("SET 'auto.offset.reset'='earliest'")
        # Outside a transaction block only a held cursor may be declared.
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            conn.execute(f"DECLARE c CURSOR FOR SELECT id FROM {orders} EMIT CHANGES")
        conn.execute("BEGIN")
        conn.execute(f"DECLARE plain CURSOR FOR SELECT id, n FROM {orders} EMIT CHANGES")
        conn.execute(f"DECLARE held NO SCROLL CURSOR WITH HOLD FOR SELECT id, n FROM {orders} EMIT CHANGES")
        assert len(push_queries(watcher)) == 2
        assert len(conn.execute("FETCH 2 FROM plain").fetchall()) == 2
        conn.execute("COMMIT")
        wait_until_count(watcher, 1)
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH plain")
        # The held cursor goes on after COMMIT, forwards only.
        assert [r[1] for r in conn.execute("FETCH FORWARD 2 FROM held").fetchall()] == [1, 2]
        conn.execute("MOVE 2 IN held")
        assert conn.execute("FETCH NEXT FROM held").fetchall()[0][1] == 5
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("FETCH PRIOR FROM held")
        conn.execute("CLOSE ALL")
        wait_no_push_queries(watcher, "CLOSE ALL to stop the held cursor's query")


def test_rollback_to_savepoint_closes_later_cursors(server, orders):
    with connect(server, autocommit=False) as conn, connect(server) as watcher:
        conn.execute(f"DECLARE before_sp CURSOR FOR SELECT id FROM {orders}")
        conn.execute("SAVEPOINT sp")
        conn.execute(f"DECLARE after_sp CURSOR FOR SELECT id FROM {orders}")
        with pytest.raises(psycopg.errors.DuplicateCursor):
            conn.execute(f"DECLARE after_sp CURSOR FOR SELECT id FROM {orders}")
        conn.execute("ROLLBACK TO SAVEPOINT sp")
        assert len(conn.execute("FETCH ALL FROM before_sp").fetchall()) == 7
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH ALL FROM after_sp")
        conn.rollback()
        assert push_queries(watcher) == []


def wait_until_count(conn, n: int) -> None:
    from sluice_harness import wait_until

    wait_until(f"{n} push queries", lambda: len(push_queries(conn)) == n or None, timeout_s=20)
