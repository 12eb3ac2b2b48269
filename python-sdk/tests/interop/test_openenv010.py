"""Interop with the real `openenv==0.10.0` (separate virtualenv, loopback), in both directions.

* our clients drive servers built with 0.10's own server framework (`interop/legacy_envs/`);
* 0.10's clients (`GenericEnvClient(...).sync()`, `MCPToolClient`) drive servers built with our runtime.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from openenv import CallToolAction, GenericEnvClient, GenericSyncEnvClient
from openenv.errors import CapacityReachedError, ExecutionError, RemoteValidationError, SessionLostError
from openenv.protocol import Mode
from openenv.server import create_app
from openenv.server.background import BackgroundServer

from interop.legacy_server import LegacyServer, legacy_env, legacy_python, start_legacy_server
from tests.envs import EchoEnv, LineEnv

SCRIPT = Path(__file__).with_name("legacy_client_script.py")


@pytest.fixture(scope="module")
def legacy_typed() -> Iterator[LegacyServer]:
    with start_legacy_server("typed", max_sessions=2) as server:
        yield server


@pytest.fixture(scope="module")
def legacy_echo() -> Iterator[LegacyServer]:
    with start_legacy_server("echo", max_sessions=4) as server:
        yield server


def test_our_sync_client_drives_a_010_server(legacy_typed: LegacyServer) -> None:
    with GenericSyncEnvClient(legacy_typed.base_url) as env:
        assert env.mode is Mode.BASE  # 0.10 ignores the offered subprotocol
        reset = env.reset(seed=7, episode_id="ours")
        assert reset.observation["position"] == 0 and reset.done is False
        step = env.step({"direction": "right", "amount": 2})
        assert step.observation["position"] == 2 and step.reward == 0.0
        state = env.state()
        assert (state.episode_id, state.step_count) == ("ours", 1)
        with pytest.raises(RemoteValidationError) as invalid:
            env.step({"direction": "up", "amount": 2})
        assert invalid.value.errors[0]["loc"] == ["direction"]
        with pytest.raises(ExecutionError, match="step failed on purpose"):
            env.step({"direction": "right", "amount": 1, "fail": True})
        assert env.state().step_count == 1


async def test_our_async_client_drives_a_010_mcp_server(legacy_echo: LegacyServer) -> None:
    async with GenericEnvClient(legacy_echo.base_url) as env:
        reset = await env.reset()
        assert reset.metadata == {"status": "ready", "message": "Echo environment ready!"}
        step = await env.step(CallToolAction(tool_name="echo_message", arguments={"message": "hi"}))
        assert step.observation["result"]["data"] == "hi"
        assert {t["name"] for t in await env.list_tools()} == {"echo_message", "echo_with_length"}
        assert await env.call_tool("echo_with_length", message="abc") == {"message": "abc", "length": 3}


def test_010_capacity_after_upgrade_is_a_typed_error(legacy_typed: LegacyServer) -> None:
    with GenericSyncEnvClient(legacy_typed.base_url) as first, GenericSyncEnvClient(legacy_typed.base_url) as second:
        first.reset()
        second.reset()
        with pytest.raises(CapacityReachedError) as full, GenericSyncEnvClient(legacy_typed.base_url) as third:
            third.reset()
        assert full.value.details["max_sessions"] == 2


def test_a_dropped_010_session_is_never_silently_replaced() -> None:
    server = start_legacy_server("typed", max_sessions=2)
    try:
        env = GenericSyncEnvClient(server.base_url)
        env.reset(episode_id="first")
        env.step({"direction": "right", "amount": 1})
    finally:
        server.stop()
    with pytest.raises(SessionLostError):
        env.step({"direction": "right", "amount": 1})
    with pytest.raises(SessionLostError):
        env.state()
    env.close()


def _run_legacy_client(base_url: str, mode: str) -> dict:
    completed = subprocess.run(
        [str(legacy_python()), str(SCRIPT), base_url, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=legacy_env(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_010_generic_client_drives_our_server() -> None:
    with BackgroundServer(create_app(LineEnv, name="line_env")) as server:
        out = _run_legacy_client(server.base_url, "generic")
    assert out["reset"] == {
        "observation": {"metadata": {"seed": 5}, "position": 0, "text": ""},
        "reward": None,
        "done": False,
    }
    assert out["step"]["observation"]["position"] == 4 and out["step"]["reward"] == -0.01
    assert out["state"] == {"episode_id": "legacy-ep", "step_count": 1, "position": 4, "seed": 5}
    assert "VALIDATION_ERROR" in out["invalid"]


def test_010_mcp_client_drives_our_mcp_server() -> None:
    with BackgroundServer(create_app(EchoEnv, name="echo_env", named_sessions=True)) as server:
        out = _run_legacy_client(server.base_url, "mcp")
    assert out["tools"] == ["echo_message", "echo_with_length", "explode"]
    assert out["echo"] == "from 0.10"
    assert out["length"] == {"message": "abc", "length": 3}
