"""pytest set-up for the hostile-client suite: one long-running `sluice server` that every request
case attacks in turn (reusing the interop suite's harness and raw wire helpers from ../interop),
plus fresh servers for the start-up cases.

After every case against the shared server, `healthy` checks that the same process still serves
a real Kafka client (confluent-kafka produce and consume) and a Postgres client (psycopg
`SHOW TOPICS`); at the end of the session its peak RSS (VmHWM) must be under 1 GiB.
"""

from __future__ import annotations

import os
import re
import resource
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))

from sluice_harness import SluiceServer, wait_until  # noqa: E402

PEAK_RSS_LIMIT_KB = 1024 * 1024

# Plain log lines (no ANSI colours), so tests can look for `field=value` in them.
os.environ["NO_COLOR"] = "1"

# Raw-connection cases hold more than a thousand sockets, and the server needs as many.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < min(_hard, 8192):
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(_hard, 8192), _hard))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pg_port(server: SluiceServer) -> int:
    def probe():
        match = re.search(r"Postgres wire listening on [\d.]+:(\d+)", server.log_path.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    return wait_until("the Postgres listener's address in the server log", probe, timeout_s=30)


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def serves_clients(server: SluiceServer) -> None:
    """A real producer and consumer round-trip a record, and psycopg runs SELECT 1."""
    import confluent_kafka
    import psycopg

    topic = f"health-{uuid.uuid4().hex[:8]}"
    value = uuid.uuid4().hex.encode()
    producer = confluent_kafka.Producer({"bootstrap.servers": server.bootstrap, "acks": "all", "message.timeout.ms": 30000})
    delivered = []
    producer.produce(topic, key=b"k", value=value, on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0, "produce did not finish"
    assert delivered == [None], f"produce failed: {delivered}"
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": server.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])

        def got():
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                return msg.value()
            return None

        assert wait_until("the record to be consumed", got, timeout_s=30) == value
    finally:
        consumer.close()
    # The ksqlDB dialect has no FROM-less SELECT: SHOW TOPICS is the smallest statement that
    # reads something, and it must list the topic just produced to.
    with psycopg.connect(host="127.0.0.1", port=pg_port(server), user="sluice", dbname="sluice", connect_timeout=10) as conn:
        rows = conn.execute("SHOW TOPICS").fetchall()
        assert any(topic in row for row in rows), rows


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory):
    """The server every request case attacks; its peak RSS is checked when the session ends."""
    root = tmp_path_factory.mktemp("hostile")
    srv = SluiceServer(data_dir=root / "data", log_dir=root / "logs")
    srv.start()
    yield srv
    alive = srv.is_running()
    peak = vm_hwm_kb(srv.process.pid) if alive else None
    code = srv.stop()
    print(f"\nshared server peak RSS (VmHWM): {peak} KiB")
    assert alive, f"the shared server died\n{srv.log_tail()}"
    assert peak is not None and peak < PEAK_RSS_LIMIT_KB, f"peak RSS {peak} KiB is over 1 GiB"
    assert code == 0, f"sluice server exited with code {code} after SIGTERM\n{srv.log_tail()}"


@pytest.fixture
def server(request, shared_server):
    """The shared server; after the case it must still be alive and serve real clients."""
    yield shared_server
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    if failed:
        print(f"\n--- sluice server log tail ({shared_server.log_path}) ---\n{shared_server.log_tail()}")
    assert shared_server.is_running(), f"the server died\n{shared_server.log_tail()}"
    serves_clients(shared_server)


@pytest.fixture
def fresh_server(request, tmp_path):
    """A server of the test's own, for start-up cases (the test starts and stops it)."""
    srv = SluiceServer(data_dir=tmp_path / "data", log_dir=tmp_path / "logs")
    yield srv
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    if failed:
        print(f"\n--- sluice server log tail ({srv.log_path}) ---\n{srv.log_tail()}")
    if srv.is_running():
        srv.stop()
