"""What the broker does with requests no well-behaved client sends: unsupported API versions and
unknown API keys get an error response on a connection that stays open; garbage closes that one
connection and nothing else. After each, the broker still serves other connections and clients.
"""

import socket
import struct

import kafka
import kafka.errors
import pytest

import kafka_wire
from kafka_wire import API_API_VERSIONS, API_METADATA, UNSUPPORTED_VERSION
from py_clients import Confluent
from workload import check_readback, keyed_records

CLOSE_TIMEOUT_S = 10.0


def assert_broker_serves(server) -> None:
    assert server.is_running(), f"sluice server died:\n{server.log_tail()}"
    with kafka_wire.connect(server.bootstrap) as conn:
        error, versions = conn.api_versions()
        assert error == 0 and API_API_VERSIONS in versions


def test_api_versions_of_unknown_version_answers_unsupported_version_with_v0_list(server):
    with kafka_wire.connect(server.bootstrap) as conn:
        # As Kafka does: UNSUPPORTED_VERSION and the supported versions, encoded as v0, so that the
        # client can retry with a version both sides know.
        error, versions = conn.api_versions(version=127)
        assert error == UNSUPPORTED_VERSION
        assert API_API_VERSIONS in versions, f"ApiVersions missing from the v0 list: {versions}"
        lo, hi = versions[API_API_VERSIONS]
        assert lo == 0 and hi >= 3, f"ApiVersions advertised as {lo}..{hi}, clients need 0..3"
        # The same connection goes on.
        error, _ = conn.api_versions(version=0)
        assert error == 0
    assert_broker_serves(server)


@pytest.mark.parametrize("what", ["metadata-above-max", "unknown-api-key"])
def test_unsupported_request_gets_error_and_connection_stays_open(server, what):
    with kafka_wire.connect(server.bootstrap) as conn:
        error, versions = conn.api_versions()
        assert error == 0
        if what == "metadata-above-max":
            assert API_METADATA in versions, "Metadata not advertised"
            api_key, version = API_METADATA, versions[API_METADATA][1] + 1
        else:
            api_key, version = 9999, 0
            assert api_key not in versions
        # Header v1 with an empty body: a broker must not need the body to refuse the version.
        sent_id = conn.next_correlation_id
        correlation_id, body = conn.request(api_key, version)
        assert correlation_id == sent_id, f"response correlation id {correlation_id}, request had {sent_id}"
        assert len(body) >= 2
        (error,) = struct.unpack_from(">h", body, 0)
        assert error == UNSUPPORTED_VERSION, f"api key {api_key} v{version} answered with error {error}"
        # Requests on the same connection are still served, in order.
        error, _ = conn.api_versions()
        assert error == 0
    assert_broker_serves(server)


GARBAGE = {
    # A length prefix near 2 GiB: refused at once, without waiting for (or allocating) the frame.
    "oversized-frame": struct.pack(">i", 0x7FFFFFF0) + b"\x00" * 64,
    "negative-size": struct.pack(">i", -5) + b"\x00" * 16,
    "frame-shorter-than-header": struct.pack(">i", 2) + b"\x00\x12",
    "client-id-longer-than-frame": struct.pack(">i", 10) + struct.pack(">hhih", API_API_VERSIONS, 0, 1, 1000),
    # Someone pointed a browser at the Kafka port: "GET " read as a length is 1,195,725,856.
    "http-request": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


@pytest.mark.parametrize("name", GARBAGE)
def test_garbage_closes_only_that_connection(server, name):
    with kafka_wire.connect(server.bootstrap) as bystander, kafka_wire.connect(server.bootstrap) as victim:
        assert bystander.api_versions()[0] == 0
        victim.send_raw(GARBAGE[name])
        assert victim.wait_closed(CLOSE_TIMEOUT_S), f"broker kept the connection open {CLOSE_TIMEOUT_S}s after {name}"
        # The connection opened before the garbage still works, and so do new ones.
        assert bystander.api_versions()[0] == 0
    assert_broker_serves(server)


def test_truncated_frame_then_eof_closes_only_that_connection(server):
    with kafka_wire.connect(server.bootstrap) as victim:
        victim.send_raw(struct.pack(">i", 100) + b"\x00" * 10)
        victim.sock.shutdown(socket.SHUT_WR)
        assert victim.wait_closed(CLOSE_TIMEOUT_S), "broker kept a half-closed connection with a truncated frame open"
    assert_broker_serves(server)


def test_clients_work_after_garbage(server):
    for name in GARBAGE:
        with kafka_wire.connect(server.bootstrap) as victim:
            victim.send_raw(GARBAGE[name])
            victim.wait_closed(CLOSE_TIMEOUT_S)
    client = Confluent(server.bootstrap)
    client.create_topic("after-garbage", 3)
    produced = keyed_records("after-garbage", count=300)
    client.produce("after-garbage", produced)
    check_readback(produced, client.read_all("after-garbage", 3, len(produced)))


def test_real_client_pinned_to_an_unsupported_produce_version_gets_an_error(server):
    # kafka-python told the broker is Kafka 0.10.0 sends Produce v2, which Sluice does not serve
    # (Produce is served from v3, as in Kafka 4): the send fails with an error instead of hanging,
    # and the broker goes on serving everyone else.
    client = Confluent(server.bootstrap)
    client.create_topic("old-client", 1)
    producer = kafka.KafkaProducer(bootstrap_servers=server.bootstrap, api_version=(0, 10, 0), enable_idempotence=False, acks=1, retries=0)
    try:
        future = producer.send("old-client", b"from an old client")
        with pytest.raises(kafka.errors.KafkaError):
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)
    assert_broker_serves(server)
    produced = keyed_records("after-old-client", count=100)
    client.produce("old-client", produced)
    check_readback(produced, client.read_all("old-client", 1, len(produced)), partitions=1)
