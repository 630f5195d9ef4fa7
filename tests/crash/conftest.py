"""pytest set-up for the crash-safety suite: reuses the interop suite's harness (server process,
raw wire helpers, clients, segment reader) from ../interop."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))

from sluice_harness import SluiceServer  # noqa: E402


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def server(request, tmp_path):
    """A started server the test may kill, restart and stop; stopped (or killed) at the end."""
    srv = SluiceServer(data_dir=tmp_path / "data", log_dir=tmp_path / "logs")
    srv.start()
    yield srv
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    if srv.is_running():
        srv.stop()
    if failed:
        print(f"\n--- sluice server log tail ({srv.log_path}) ---\n{srv.log_tail()}")
