"""The PostgreSQL JDBC driver (Debian's libpostgresql-jdbc-java, what DBeaver, DataGrip and
Metabase use) run by JdbcClient.java: DatabaseMetaData as a database browser calls it, prepared
statements with parameters, and a push query read row by row in cursor mode (autocommit off,
setFetchSize), after which no push query is left running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import connect, pg_port, push_queries, wait_no_push_queries

HERE = Path(__file__).resolve().parent
JAR = Path("/usr/share/java/postgresql.jar")
JAVA = shutil.which("java")

# CI installs both (.ci/run); elsewhere the suite says what is missing instead of failing.
pytestmark = pytest.mark.skipif(
    (JAVA is None or not JAR.exists()) and os.environ.get("CI") != "true",
    reason="needs java and /usr/share/java/postgresql.jar (apt-get install openjdk-17-jre-headless libpostgresql-jdbc-java)",
)


def jdbc(server, *args: str) -> list[str]:
    url = f"jdbc:postgresql://127.0.0.1:{pg_port(server)}/sluice"
    done = subprocess.run(
        [JAVA or "java", "-cp", str(JAR), str(HERE / "JdbcClient.java"), url, *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, f"JdbcClient {args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


@pytest.fixture(scope="module")
def relations(server):
    with connect(server) as conn:
        conn.execute(
            "CREATE STREAM jd_orders (id STRING KEY, amount DECIMAL(10, 2), item STRING, ts TIMESTAMP, "
            "n BIGINT, tags ARRAY<INT>) WITH (KAFKA_TOPIC='jd_orders', VALUE_FORMAT='JSON', PARTITIONS=1)"
        )
        conn.execute(
            "CREATE TABLE jd_users (id STRING PRIMARY KEY, name STRING) "
            "WITH (KAFKA_TOPIC='jd_users', VALUE_FORMAT='JSON', PARTITIONS=1)"
        )


def test_database_metadata(server, relations):
    lines = jdbc(server, "metadata", "jd_users,jd_orders")
    assert "schema|public" in lines
    assert "table|public|jd_users|TABLE" in lines
    assert "table|public|jd_orders|VIEW" in lines
    assert "table|public|jd_users_pkey|INDEX" in lines
    columns = [line for line in lines if line.startswith("column|jd_orders|")]
    # name, type name, java.sql.Types, size, digits, nullable, position
    assert columns == [
        "column|jd_orders|id|text|12|2147483647|0|1|1",
        "column|jd_orders|amount|numeric|2|10|2|1|2",
        "column|jd_orders|item|text|12|2147483647|0|1|3",
        "column|jd_orders|ts|timestamp|93|29|6|1|4",
        "column|jd_orders|n|int8|-5|19|0|1|5",
        "column|jd_orders|tags|_int4|2003|10|0|1|6",
    ]
    assert "column|jd_users|id|text|12|2147483647|0|0|1" in lines
    assert [line for line in lines if line.startswith("pk|")] == ["pk|jd_users|id|1|jd_users_pkey"]
    assert "index|jd_users|jd_users_pkey|id|f" in lines
    types = {line.split("|")[1] for line in lines if line.startswith("type|")}
    assert {"int4", "int8", "text", "numeric", "timestamp", "bool"} <= types


def test_prepared_statements_with_parameters(server, relations):
    with connect(server) as conn:
        conn.execute(
            "CREATE STREAM jd_items (id STRING KEY, amount DECIMAL(10, 2), item STRING) "
            "WITH (KAFKA_TOPIC='jd_items', VALUE_FORMAT='JSON', PARTITIONS=1)"
        )
    lines = jdbc(server, "prepared", "jd_items")
    assert lines[0] == "columns|text|numeric"
    assert sorted(lines[1:]) == ["row|k3|30.25|item3", "row|k5|50.25|item5"]


def test_push_query_read_row_by_row_with_fetch_size(server, relations):
    with connect(server) as conn:
        for i in range(1, 8):
            conn.execute(f"INSERT INTO jd_orders (id, amount, item, n) VALUES ('r{i}', {i}.00, 'x', {i})")
    lines = jdbc(server, "cursor", "jd_orders", "5")
    assert lines[-1] == "done"
    rows = [line for line in lines if line.startswith("row|")]
    assert rows == [f"row|r{i}|{i}.00" for i in range(1, 6)]
    with connect(server) as conn:
        wait_no_push_queries(conn, "the JDBC cursor's push query to stop")
