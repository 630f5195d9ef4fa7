"""Limits that need their own server (a small setting, so that reaching it is cheap): each
refusal is a Kafka error code or a closed connection, and the server still serves real clients
afterwards.
"""

from __future__ import annotations

import socket
import struct
import uuid

import kafka_wire
import pytest
from conftest import serves_clients
from hostile_wire import (
    API_DELETE_TOPICS,
    API_JOIN_GROUP,
    API_METADATA,
    GROUP_MAX_SIZE_REACHED,
    INVALID_PARTITIONS,
    delete_topics_v1,
    join_group_error,
    join_group_v1,
    metadata_v4,
    parse_metadata_v4,
    s16,
)
from sluice_harness import wait_until


def start(srv, *args: str):
    srv.extra_args = list(args)
    srv.start()
    return srv


def test_auto_created_topics_stop_at_max_broker_partitions(fresh_server):
    srv = start(fresh_server, "--max-broker-partitions", "40")
    names = [f"auto-{uuid.uuid4().hex[:8]}" for _ in range(60)]
    with kafka_wire.connect(srv.bootstrap, timeout_s=60) as conn:
        _, body = conn.request(API_METADATA, 4, metadata_v4(names))
    meta = parse_metadata_v4(body)
    created = [n for n in names if meta[n][0] == 0]
    refused = [n for n in names if meta[n][0] == INVALID_PARTITIONS]
    assert refused and created and len(created) + len(refused) == len(names), meta
    assert len(created) < 40
    # Room again once some are deleted: real clients are served.
    with kafka_wire.connect(srv.bootstrap) as conn:
        conn.request(API_DELETE_TOPICS, 1, delete_topics_v1(created[:5]) )
    serves_clients(srv)


def test_connections_beyond_the_per_address_limit_are_closed(fresh_server):
    srv = start(fresh_server, "--max-connections-per-ip", "5")
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(5)]
    try:
        with kafka_wire.connect(srv.bootstrap) as extra:
            assert extra.wait_closed(10), "a sixth connection from the same address is closed"
    finally:
        for s in held:
            s.close()
    wait_until("the server to serve clients again", lambda: serves_clients(srv) or True, timeout_s=30)


def test_silent_half_sent_and_idle_connections_are_closed(fresh_server):
    srv = start(fresh_server, "--connections-max-idle-ms", "1000", "--request-read-timeout-ms", "1000")
    with kafka_wire.connect(srv.bootstrap) as silent, kafka_wire.connect(srv.bootstrap) as half, kafka_wire.connect(srv.bootstrap) as idle:
        half.send_raw(struct.pack(">i", 64) + struct.pack(">hhi", 3, 4, 1))
        assert idle.api_versions()[0] == 0
        assert silent.wait_closed(15), "a connection that never sends a request is closed"
        assert half.wait_closed(15), "a half-sent frame is not waited for forever"
        assert idle.wait_closed(15), "an idle connection is closed after connections.max.idle.ms"
    serves_clients(srv)


def test_join_group_beyond_group_max_size_is_refused(fresh_server):
    srv = start(fresh_server, "--group-max-size", "2")
    group = f"g-{uuid.uuid4().hex[:6]}"
    protocols = [("range", b"")]
    with kafka_wire.connect(srv.bootstrap) as a, kafka_wire.connect(srv.bootstrap) as b, kafka_wire.connect(srv.bootstrap, timeout_s=30) as c:
        # Two members join (their answers wait for the rebalance); the third is one too many.
        for conn in (a, b):
            header = struct.pack(">hhi", API_JOIN_GROUP, 1, 1) + s16("hostile")
            payload = header + join_group_v1(group, protocols)
            conn.send_raw(struct.pack(">i", len(payload)) + payload)
        wait_until(
            "both members to be in the group",
            lambda: _third_join(c, group, protocols),
            timeout_s=20,
        )
    serves_clients(srv)


def _third_join(conn, group, protocols) -> bool:
    _, body = conn.request(API_JOIN_GROUP, 1, join_group_v1(group, protocols))
    return join_group_error(body) == GROUP_MAX_SIZE_REACHED


# --- The Postgres listener ---------------------------------------------------------------------


def _pg_connect(srv, **kwargs):
    import psycopg
    from conftest import pg_port

    return psycopg.connect(host="127.0.0.1", port=pg_port(srv), user="sluice", dbname="sluice", autocommit=True, connect_timeout=10, **kwargs)


def test_postgres_connections_beyond_the_limit_get_too_many_connections(fresh_server):
    import psycopg

    srv = start(fresh_server, "--pg-max-connections", "2")
    first, second = _pg_connect(srv), _pg_connect(srv)
    try:
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            _pg_connect(srv)
    finally:
        first.close()
        second.close()
    wait_until("a Postgres slot to free up", lambda: serves_clients(srv) or True, timeout_s=30)


def test_postgres_client_that_never_starts_up_is_closed(fresh_server):
    from conftest import pg_port

    srv = start(fresh_server, "--pg-startup-timeout-ms", "1000")
    port = pg_port(srv)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as silent, socket.create_connection(("127.0.0.1", port), timeout=10) as half:
        # Half a start-up packet, then nothing.
        half.sendall(struct.pack(">i", 60) + struct.pack(">i", 196608))
        for s in (silent, half):
            s.settimeout(15)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            assert data == b"" or data.startswith(b"E"), data
    serves_clients(srv)


def test_postgres_message_over_the_limit_is_refused_before_it_is_read(fresh_server):
    import psycopg

    srv = start(fresh_server, "--pg-max-message-bytes", "65536")
    with _pg_connect(srv) as conn:
        with pytest.raises(psycopg.OperationalError, match="over the limit"):
            conn.execute("SHOW TOPICS -- " + "x" * 1_000_000)
    serves_clients(srv)
