"""`EnvService`'s action validation: strict by default, 0.10's lax typing at the base level when
`lax_base_typing` is set (what `openenv.core`'s `create_app` does), strict on v1 either way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Serve
from tests.envs import LineEnv
from tests.wire import Peer

COERCIBLE = {"direction": "right", "amount": "2"}
LOSSY = {"direction": "right", "amount": "2.5"}


def _step_code(reply: dict[str, Any]) -> str:
    return reply["data"]["code"] if reply["type"] == "error" else reply["type"]


def test_a_lax_app_coerces_base_level_actions_and_keeps_v1_strict(serve: Serve) -> None:
    server = serve(LineEnv, lax_base_typing=True)
    with Peer(server.ws_url) as peer:
        peer.ask({"type": "reset", "data": {}})
        reply = peer.ask({"type": "step", "data": COERCIBLE})
        assert reply["data"]["observation"]["position"] == 2
        reply = peer.ask({"type": "step", "data": {"direction": "left", "amount": 3.0}})
        assert reply["data"]["observation"]["position"] == -1
        assert _step_code(peer.ask({"type": "step", "data": LOSSY})) == "VALIDATION_ERROR"
    with Peer(server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset", "data": {}, "id": "r"})
        assert _step_code(peer.ask({"type": "step", "data": COERCIBLE, "id": "s"})) == "VALIDATION_ERROR"
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        step = http.post("/step", json={"action": COERCIBLE})
        assert step.status_code == 200 and step.json()["observation"]["position"] == 2
        failed = http.post("/step", json={"action": LOSSY})
        assert failed.status_code == 422 and failed.json()["detail"][0]["loc"] == ["body", "action", "amount"]
        for seed, seen in (("7", 7), (8.0, 8), (9, 9), (True, 1)):  # pydantic lax, as 0.10
            assert http.post("/reset", json={"seed": seed}).json()["metadata"] == {"seed": seen}
        for seed in ("7.5", "seven", -1, [7]):
            bad = http.post("/reset", json={"seed": seed})
            assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "seed"], seed


@pytest.mark.parametrize("v1", [False, True])
def test_an_app_of_our_own_is_strict_at_every_level(serve: Serve, v1: bool) -> None:
    server = serve(LineEnv)
    with Peer(server.ws_url, v1=v1) as peer:
        extra = {"id": "s"} if v1 else {}
        peer.ask({"type": "reset", "data": {}, **extra})
        assert _step_code(peer.ask({"type": "step", "data": COERCIBLE, **extra})) == "VALIDATION_ERROR"
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        assert http.post("/step", json={"action": COERCIBLE}).status_code == 422
        assert http.post("/reset", json={"seed": "7"}).status_code == 422


def test_reconfiguring_rebinds_the_base_validator(serve: Serve) -> None:
    server = serve(LineEnv)
    service = server.app.service
    assert service.validate_base_action == service.validate_action
    service.reconfigure(lax_base_typing=True)
    assert service.validate_base_action({"direction": "left", "amount": "1"}).amount == 1
