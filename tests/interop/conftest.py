"""pytest fixtures shared by the interop suite (and imported by tests/crash/conftest.py).

`server` gives each test its own running `sluice server` on a free port with a fresh data dir and
stops it afterwards; a test that fails gets the tail of the server's log in its report.
"""

from __future__ import annotations

import pytest

from sluice_harness import SluiceServer


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def server(request, tmp_path):
    srv = SluiceServer(data_dir=tmp_path / "data", log_dir=tmp_path / "logs")
    srv.start()
    yield srv
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    was_running = srv.is_running()
    code = srv.stop()
    if failed:
        print(f"\n--- sluice server log tail ({srv.log_path}) ---\n{srv.log_tail()}")
    # A server that died during the test is a failure of its own, even if the test did not notice.
    assert was_running, f"sluice server died during the test\n{srv.log_tail()}"
    assert code == 0, f"sluice server exited with code {code} after SIGTERM\n{srv.log_tail()}"
