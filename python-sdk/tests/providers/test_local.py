"""`LocalProcessProvider`: a real `openenv serve` child process per server, stopped cleanly."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
import pytest
from openenv import GenericSyncEnvClient
from openenv.errors import ConnectError
from openenv.providers import LocalProcessProvider

SDK_ROOT = Path(__file__).resolve().parents[2]


def test_serves_a_session_and_stops_cleanly() -> None:
    server = LocalProcessProvider("tests.apps:line_app", cwd=str(SDK_ROOT), args=["--max-sessions", "3"]).start()
    try:
        health = httpx.get(f"{server.base_url}/health", trust_env=False).json()
        assert health == {"status": "healthy", "active_sessions": 0, "max_sessions": 3}
        with GenericSyncEnvClient(base_url=server.base_url) as env:
            env.reset(seed=1)
            assert env.step({"direction": "right", "amount": 2}).observation["position"] == 2
        assert os.path.exists(server.log_path)
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert not os.path.exists(server.log_path)
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/health", trust_env=False)


def test_a_server_that_dies_is_reported_at_once_with_its_log() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectError) as caught:
        LocalProcessProvider("tests.no_such_module:app", cwd=str(SDK_ROOT), ready_timeout_s=30).start()
    assert time.monotonic() - started < 20  # not the whole readiness timeout
    assert "exited before it was ready" in str(caught.value) and "no_such_module" in str(caught.value)


def test_a_server_that_never_gets_healthy_times_out_and_is_killed(tmp_path: Path) -> None:
    silent = tmp_path / "python"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(silent.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ConnectError, match=r"not healthy within 0\.5 s"):
        LocalProcessProvider("tests.apps:line_app", python=str(silent), ready_timeout_s=0.5).start()
