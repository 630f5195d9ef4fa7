"""SQLAlchemy 2 with psycopg 3 (what Apache Superset, pandas and notebooks use) against Sluice:
the dialect connects (its start-up sends SAVEPOINT / RELEASE), `inspect()` lists schemas, streams
(as views) and tables, their columns with types and a table's primary key; pandas reads a LIMITed
push query and SHOW STREAMS; savepoints and the failed-transaction state behave as in PostgreSQL.
"""

from __future__ import annotations

import decimal

import pandas as pd
import psycopg
import pytest
from sqlalchemy import ARRAY, BIGINT, INTEGER, NUMERIC, TEXT, TIMESTAMP, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from conftest import connect, pg_port

SETUP = [
    "CREATE STREAM sa_orders (id STRING KEY, amount DECIMAL(10, 2), ts TIMESTAMP, tags ARRAY<STRING>, "
    "n BIGINT, qty INT) WITH (KAFKA_TOPIC='sa_orders', VALUE_FORMAT='JSON', PARTITIONS=1)",
    "CREATE TABLE sa_users (id STRING PRIMARY KEY, name STRING, age INT) "
    "WITH (KAFKA_TOPIC='sa_users', VALUE_FORMAT='JSON', PARTITIONS=1)",
]


@pytest.fixture(scope="module")
def engine(server):
    with connect(server) as conn:
        for statement in SETUP:
            conn.execute(statement)
        for i in range(1, 6):
            conn.execute(
                "INSERT INTO sa_orders (id, amount, ts, tags, n, qty) VALUES "
                f"('o{i}', {i}.50, '2024-01-0{i}T10:00:00', ARRAY['a', 'b'], {i * 1000}, {i})"
            )
    engine = create_engine(f"postgresql+psycopg://sluice@127.0.0.1:{pg_port(server)}/sluice")
    yield engine
    engine.dispose()


def test_inspect_lists_schemas_streams_tables_and_columns(engine):
    insp = inspect(engine)
    assert "public" in insp.get_schema_names()
    assert "sa_users" in insp.get_table_names()
    assert "sa_orders" not in insp.get_table_names()
    # A stream is a relation one reads and never updates: a view.
    assert "sa_orders" in insp.get_view_names()

    columns = {c["name"]: c for c in insp.get_columns("sa_orders")}
    assert list(columns) == ["id", "amount", "ts", "tags", "n", "qty"]
    assert isinstance(columns["id"]["type"], TEXT)
    amount = columns["amount"]["type"]
    assert isinstance(amount, NUMERIC) and (amount.precision, amount.scale) == (10, 2)
    assert isinstance(columns["ts"]["type"], TIMESTAMP)
    assert isinstance(columns["tags"]["type"], ARRAY) and isinstance(columns["tags"]["type"].item_type, TEXT)
    assert isinstance(columns["n"]["type"], BIGINT)
    assert isinstance(columns["qty"]["type"], INTEGER)
    assert all(c["nullable"] for c in columns.values())


def test_inspect_finds_a_tables_primary_key(engine):
    insp = inspect(engine)
    pk = insp.get_pk_constraint("sa_users")
    assert pk["constrained_columns"] == ["id"]
    assert pk["name"] == "sa_users_pkey"
    columns = {c["name"]: c for c in insp.get_columns("sa_users")}
    assert columns["id"]["nullable"] is False
    assert columns["name"]["nullable"] is True
    # A stream's key is not unique: no primary key.
    assert insp.get_pk_constraint("sa_orders")["constrained_columns"] == []
    assert insp.get_indexes("sa_users") == []
    assert insp.get_foreign_keys("sa_users") == []
    assert insp.get_unique_constraints("sa_users") == []
    assert insp.get_table_comment("sa_users") == {"text": None}


def test_pandas_reads_a_limited_push_query_and_show_streams(engine):
    with engine.connect() as conn:
        conn.execute(text("SET 'auto.offset.reset'='earliest'"))
        frame = pd.read_sql(text("SELECT id, amount, n FROM sa_orders EMIT CHANGES LIMIT 3"), conn)
        streams = pd.read_sql(text("SHOW STREAMS"), conn)
    assert list(frame.columns) == ["ID", "AMOUNT", "N"]
    assert sorted(frame["ID"]) == ["o1", "o2", "o3"]
    assert sorted(frame["AMOUNT"]) == [decimal.Decimal("1.50"), decimal.Decimal("2.50"), decimal.Decimal("3.50")]
    assert "SA_ORDERS" in set(streams["Stream Name"])


def test_savepoints_commit_and_roll_back_as_postgres_does(engine):
    with engine.connect() as conn:
        outer = conn.begin()
        inner = conn.begin_nested()  # SAVEPOINT
        with pytest.raises(DBAPIError) as failed:
            conn.execute(text("SELECT nope FROM no_such_stream"))
        assert failed.value.orig.sqlstate is not None
        # The block failed: nothing runs until the savepoint is rolled back to.
        with pytest.raises(DBAPIError) as refused:
            conn.execute(text("SHOW STREAMS"))
        assert refused.value.orig.sqlstate == "25P02"
        inner.rollback()  # ROLLBACK TO SAVEPOINT
        assert conn.execute(text("SHOW STREAMS")).fetchall()
        nested = conn.begin_nested()
        nested.commit()  # RELEASE SAVEPOINT
        outer.commit()


def test_failed_transaction_state_on_the_wire(server):
    with connect(server, autocommit=False) as conn:
        conn.execute("SHOW STREAMS")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT nope FROM no_such_stream")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SHOW STREAMS")
        conn.rollback()
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SHOW STREAMS").fetchall()
        conn.rollback()

        # Savepoints: unknown names, RELEASE drops later ones, ROLLBACK TO leaves the failed state.
        conn.execute("SAVEPOINT a")
        conn.execute("SAVEPOINT b")
        conn.execute("RELEASE SAVEPOINT a")
        with pytest.raises(psycopg.errors.InvalidSavepointSpecification):
            conn.execute("ROLLBACK TO SAVEPOINT b")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        conn.rollback()
        conn.execute("SAVEPOINT c")
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT nope FROM no_such_stream")
        conn.execute("ROLLBACK TO c")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SHOW STREAMS").fetchall()
        conn.commit()

    with connect(server) as conn:
        # Outside a block: SAVEPOINT is refused (25P01); COMMIT only warns.
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            conn.execute("SAVEPOINT a")
        conn.execute("COMMIT")


def test_statements_are_not_transactional(server):
    """Sluice's statements take effect when they run: a ROLLBACK does not undo an INSERT."""
    with connect(server, autocommit=False) as conn:
        conn.execute("CREATE STREAM sa_events (id STRING KEY, v INT) WITH (KAFKA_TOPIC='sa_events', VALUE_FORMAT='JSON', PARTITIONS=1)")
        conn.execute("INSERT INTO sa_events (id, v) VALUES ('x', 1)")
        conn.rollback()
    with connect(server) as conn:
        rows = conn.execute("SELECT id, v FROM sa_events").fetchall()
    assert rows == [("x", 1)]
