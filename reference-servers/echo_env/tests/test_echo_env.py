"""echo_env over the real runtime: the 0.10 wire shape, the SDK client, HTTP, MCP and the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from openenv.client import GenericEnvClient
from openenv.server.background import BackgroundServer
from websockets.sync.client import connect

from interop.server_process import free_port, start_server_process

READY = {"status": "ready", "message": "Echo environment ready!"}
SCHEMA_010 = {
    "additionalProperties": False,
    "properties": {"message": {"type": "string", "description": "The message to echo back"}},
    "required": ["message"],
    "type": "object",
}
TOOLS_010 = [
    {
        "name": "echo_message",
        "description": "Echo back the provided message.",
        "input_schema": SCHEMA_010,
    },
    {
        "name": "echo_with_length",
        "description": "Echo back the message with its length.",
        "input_schema": SCHEMA_010,
    },
]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERVERS_DIR = Path(__file__).resolve().parents[2]


def exchange(ws: Any, frame: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(frame))
    reply = ws.recv(timeout=10)
    assert isinstance(reply, str)
    parsed: dict[str, Any] = json.loads(reply)
    return parsed


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "step",
        "data": {"type": "call_tool", "tool_name": name, "arguments": arguments},
    }


def test_base_mode_frames_match_010_echo(echo_server: BackgroundServer) -> None:
    """The frames 0.10's echo_env sends for the transcript's first session (values, not bytes)."""
    with connect(echo_server.ws_url) as ws:
        assert ws.subprotocol is None
        reset = exchange(ws, {"type": "reset"})
        assert reset == {
            "type": "observation",
            "data": {
                "observation": {"metadata": READY},
                "reward": 0.0,
                "done": False,
                "metadata": READY,
            },
        }
        state = exchange(ws, {"type": "state"})["data"]
        assert UUID4.match(state["episode_id"]) and state["step_count"] == 0
        echoed = exchange(ws, call("echo_message", message="hi"))["data"]
        assert echoed["reward"] is None and echoed["done"] is False and "metadata" not in echoed
        obs = echoed["observation"]
        assert (obs["metadata"], obs["tool_name"], obs["error"]) == ({}, "echo_message", None)
        result = obs["result"]
        assert result["content"][0] == {"type": "text", "text": "hi"}
        assert (result["structured_content"], result["data"], result["is_error"]) == (
            {"result": "hi"},
            "hi",
            False,
        )
        sized = exchange(ws, call("echo_with_length", message="hello"))["data"]["observation"]["result"]
        assert sized["data"] == sized["structured_content"] == {"message": "hello", "length": 5}
        assert json.loads(sized["content"][0]["text"]) == {"message": "hello", "length": 5}
        listed = exchange(ws, {"type": "step", "data": {"type": "list_tools"}})["data"]
        assert listed["observation"] == {"metadata": {}, "tools": TOOLS_010}
        state = exchange(ws, {"type": "state"})["data"]
        assert state["step_count"] == 3


def test_reset_arguments_tool_errors_and_step_before_reset(echo_server: BackgroundServer) -> None:
    with connect(echo_server.ws_url) as ws:
        early = exchange(
            ws,
            {"type": "step", "data": {"tool_name": "echo_message", "arguments": {"message": "x"}}},
        )
        assert early["data"]["observation"]["result"]["data"] == "x"  # base mode: as 0.10, no reset needed
        reset = exchange(
            ws,
            {"type": "reset", "data": {"seed": 42, "episode_id": "ep-001", "difficulty": "hard"}},
        )
        assert reset["data"]["reward"] == 0.0
        assert exchange(ws, {"type": "state"})["data"] == {"episode_id": "ep-001", "step_count": 0}
        unknown = exchange(ws, call("nope"))["data"]["observation"]
        assert unknown["result"] is None
        assert unknown["error"] == {
            "error_type": "tool_not_found",
            "message": "Unknown tool: 'nope'",
        }
        bad = exchange(ws, call("echo_message", msg=1))["data"]["observation"]["error"]
        assert bad["error_type"] == "invalid_args"
        assert "message" in bad["message"] and "msg" in bad["message"]


async def test_v1_session_with_the_sdk_client(echo_server: BackgroundServer) -> None:
    async with GenericEnvClient(echo_server.base_url, protocol="v1") as client:
        reset = await client.reset(episode_id="v1-ep")
        assert reset.reward == 0.0 and reset.metadata == READY
        assert not reset.done and not reset.terminated and not reset.truncated
        assert await client.call_tool("echo_message", message="héllo ✓") == "héllo ✓"
        assert await client.call_tool("echo_with_length", message="four") == {
            "message": "four",
            "length": 4,
        }
        step = await client.step_tool("echo_with_length", message="abc")
        assert step.reward is None and not step.done
        names = [t["name"] for t in await client.list_tools()]
        assert names == ["echo_message", "echo_with_length"]
        state = await client.state()
        state_dict = state if isinstance(state, dict) else state.model_dump()
        assert state_dict["episode_id"] == "v1-ep" and state_dict["step_count"] == 1


def test_http_surface(echo_server: BackgroundServer) -> None:
    base = echo_server.base_url
    with httpx.Client(base_url=base, timeout=10) as http:
        reset = http.post("/reset", json={"seed": 1, "episode_id": "e1", "foo": "bar"}).json()
        assert reset == {
            "observation": {"metadata": READY},
            "reward": 0.0,
            "done": False,
            "metadata": READY,
        }
        step = http.post(
            "/step",
            json={"action": {"tool_name": "echo_message", "arguments": {"message": "http"}}},
        )
        assert step.status_code == 200 and step.json()["observation"]["result"]["data"] == "http"
        assert http.post("/step", json={"action": {"type": "frobnicate"}}).status_code == 422
        listed = http.post("/mcp", json={"jsonrpc": "2.0", "method": "tools/list", "id": 1}).json()
        assert [t["name"] for t in listed["result"]["tools"]] == [
            "echo_message",
            "echo_with_length",
        ]
        assert listed["result"]["tools"][0]["inputSchema"] == SCHEMA_010
        called = http.post(
            "/mcp",
            json={
                "jsonrpc": "2.0",
                "method": "tools/call",
                "params": {"name": "echo_with_length", "arguments": {"message": "abc"}},
                "id": 2,
            },
        ).json()
        assert called["id"] == 2 and called["result"]["structured_content"] == {
            "message": "abc",
            "length": 3,
        }
        assert http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/x"}).status_code == 202
        meta = http.get("/metadata").json()
        assert meta["name"] == "echo_env" and meta["capabilities"]["mcp"] is True
        schema = http.get("/schema").json()
        assert schema["reset_observation"]["title"] == "Observation"
        assert http.get("/health").json()["status"] == "healthy"


def test_module_serves_on_host_and_port_from_the_environment() -> None:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONPATH": str(SERVERS_DIR)}
    started = time.monotonic()
    with start_server_process(
        [sys.executable, "-m", "echo_env.server"],
        port=port,
        name="echo_env",
        env=env,
        startup_timeout_s=30,
    ) as server:
        assert server.base_url.endswith(f":{port}")
        meta = httpx.get(f"{server.base_url}/metadata", timeout=5).json()
        assert meta["name"] == "echo_env"
    assert time.monotonic() - started < 30


def test_cli_serve_rejects_a_missing_app() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "openenv", "serve", "echo_env.server:nope", "--port", "1"],
        cwd=SERVERS_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "echo_env.server:nope" in proc.stderr
