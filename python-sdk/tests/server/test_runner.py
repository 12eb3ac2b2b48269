"""`runner`: the direct `/ws` path only on the uvicorn it was written for, else plain ASGI with a log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from openenv.server import BackgroundServer, create_app, uvicorn_ws
from openenv.server.runner import uvicorn_options, ws_protocol
from openenv_conformance.runner import run_suite

from tests.envs import LineEnv
from tests.wire import Peer


def test_the_pinned_uvicorn_gets_the_direct_path() -> None:
    assert uvicorn_ws.compatibility_problem() is None
    assert ws_protocol() is uvicorn_ws.OpenEnvWebSocketProtocol


def test_compatibility_problem_names_what_is_missing() -> None:
    assert "0.55.1" in (uvicorn_ws.compatibility_problem(version="0.55.1") or "")

    class Shrunk(uvicorn_ws.WebSocketsSansIOProtocol):
        writable: Any = None  # shadowed: still present

    assert uvicorn_ws.compatibility_problem(Shrunk, "0.54.2") is None

    class Unrelated:
        def data_received(self, data: bytes) -> None: ...

    problem = uvicorn_ws.compatibility_problem(Unrelated, "0.54.0") or ""
    assert "conn" in problem and "queue" in problem and "data_received" not in problem


@pytest.fixture
def changed_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the installed uvicorn had changed under us."""
    monkeypatch.setattr(uvicorn_ws, "compatibility_problem", lambda: "uvicorn 9.9.9 is not 0.54.x")


@pytest.mark.usefixtures("changed_uvicorn")
def test_fallback_serves_over_plain_asgi_and_certifies(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(LineEnv, name="line_env", max_sessions=4)
    with caplog.at_level(logging.WARNING, logger="openenv.server"):
        assert uvicorn_options(app)["ws"] == "websockets-sansio"
    assert any("uvicorn 9.9.9" in r.getMessage() and "plain ASGI" in r.getMessage() for r in caplog.records)
    with BackgroundServer(app) as server:
        assert server._server.config.ws == "websockets-sansio"
        with Peer(server.ws_url, v1=True) as peer:
            assert peer.hello is not None and peer.hello["type"] == "session"
            assert peer.ask({"type": "reset", "id": 1})["type"] == "observation"
            step = {"type": "step", "id": 2, "data": {"direction": "right", "amount": 2}}
            assert peer.ask(step)["data"]["observation"]["position"] == 2
        report = run_suite(server.base_url, profiles="core,v1,concurrency")
        assert not report.failing_musts(), [(c.id, c.message) for c in report.failing_musts()]
        assert report.counts()["PASS"] >= 25, report.counts()


def test_direct_path_without_task_adoption_still_certifies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The carrier's fallback (no private asyncio hooks) under the real direct `/ws` path, step
    timeouts included."""
    from openenv.server import carrier

    monkeypatch.setattr(carrier, "ADOPTION", False)
    app = create_app(LineEnv, name="line_env", max_sessions=4, step_timeout_s=0.3)
    with BackgroundServer(app) as server:
        assert server._server.config.ws is uvicorn_ws.OpenEnvWebSocketProtocol
        with Peer(server.ws_url, v1=True) as peer:
            assert peer.ask({"type": "reset", "id": 1})["type"] == "observation"
            hang = {"type": "step", "id": 2, "data": {"direction": "right", "amount": 1, "fault": "hang"}}
            reply = peer.ask(hang)
            assert reply["data"]["code"] == "STEP_TIMEOUT", reply
            assert peer.closed_with() == 1011
        report = run_suite(server.base_url, profiles="core,v1")
        assert not report.failing_musts(), [(c.id, c.message) for c in report.failing_musts()]
        assert report.counts()["PASS"] >= 25, report.counts()
