"""Base-level clients see 0.10's lax typing on ours: the same coercible input, sent to the real
0.10 server and to ours serving the same, unchanged typed environment, gives the same answer.

0.10 validates actions (and the HTTP `reset` body) with pydantic in lax mode, so `"2"` for an
integer is 2; our runtime does the same for apps built with `openenv.core`'s `create_app`, at the
base level only (spec/legacy.md, OE-GEN-016). v1 stays strict (`python-sdk/tests/server/test_service.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from interop import legacy_server
from interop.legacy_server import LegacyServer, Runtime, start_legacy_server

STEPS: list[dict[str, Any]] = [
    {"direction": "right", "amount": "2"},
    {"direction": "right", "amount": 3.0},
    {"direction": "left", "amount": "1", "fail": "false"},
    {"direction": "left", "amount": True, "fail": 0},
    {"direction": "left", "amount": "2.5"},  # not integral: refused by both
    {"direction": "left", "amount": "9"},  # out of range once converted: refused by both
    {"direction": "up", "amount": "1"},
    {"direction": "left", "amount": "1", "fail": "yes"},  # converted to True: the env raises
]
HTTP_STEPS: list[dict[str, Any]] = [{"direction": "right", "amount": "4"}, {"direction": "left", "amount": "x"}]
HTTP_RESETS: list[dict[str, Any]] = [{"seed": "11"}, {"seed": 12.0}, {"seed": True}, {"seed": "1.5"}]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[Runtime, LegacyServer]]:
    for python in (legacy_server.LEGACY_PYTHON, legacy_server.COMPAT_PYTHON):
        if not python.exists():
            pytest.skip(f"{python} missing: run `make venv-openenv010 venv-compat`")
    with (
        start_legacy_server("typed", runtime="openenv010") as theirs,
        start_legacy_server("typed", runtime="ours") as ours,
    ):
        yield {"openenv010": theirs, "ours": ours}


def _answer(frame: dict[str, Any]) -> Any:
    """What a base-level client reads from a reply: the observation, or the error's code."""
    data = frame["data"]
    if frame["type"] == "error":
        return ("error", data["code"])
    return (data["observation"]["position"], data["reward"], data["done"])


def _ws_answers(server: LegacyServer) -> list[Any]:
    with connect(server.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "reset", "data": {}}))
        ws.recv(timeout=10)
        answers = []
        for action in STEPS:
            ws.send(json.dumps({"type": "step", "data": action}))
            answers.append(_answer(json.loads(ws.recv(timeout=10))))
        return answers


def _http_answers(server: LegacyServer) -> list[Any]:
    answers: list[Any] = []
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        for action in HTTP_STEPS:
            reply = http.post("/step", json={"action": action})
            answers.append((reply.status_code, reply.json().get("observation")))
        for body in HTTP_RESETS:
            reply = http.post("/reset", json=body)
            answers.append((reply.status_code, (reply.json().get("metadata") or {}).get("seed")))
    return answers


def test_coercible_actions_get_the_same_answer_over_ws(servers: dict[Runtime, LegacyServer]) -> None:
    theirs, ours = _ws_answers(servers["openenv010"]), _ws_answers(servers["ours"])
    assert ours == theirs
    assert theirs[:4] == [(2, 0.0, False), (5, 0.0, False), (4, 0.0, False), (3, 0.0, False)]
    assert theirs[4:7] == [("error", "VALIDATION_ERROR")] * 3


def test_coercible_http_bodies_get_the_same_answer(servers: dict[Runtime, LegacyServer]) -> None:
    theirs, ours = _http_answers(servers["openenv010"]), _http_answers(servers["ours"])
    assert ours == theirs
    assert [status for status, _ in theirs] == [200, 422, 200, 200, 200, 422]
    assert [seed for _, seed in theirs[2:5]] == [11, 12, 1]
