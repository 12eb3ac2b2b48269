"""The everything server over the real runtime: episodes, validation, slow steps, MCP, HTTP."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from everything.app import build_app, load_manifest
from everything.environment import TASKS
from openenv.server.background import BackgroundServer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

V1 = ["openenv.v1"]


@contextlib.contextmanager
def v1_session(server: BackgroundServer) -> Iterator[ClientConnection]:
    with connect(server.ws_url, subprotocols=V1) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "session" and hello["data"]["protocol"] == "openenv.v1"
        yield ws


def ask(ws: ClientConnection, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": kind}
    if data is not None:
        frame["data"] = data
    ws.send(json.dumps(frame))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return reply


def move(op: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"op": op, "amount": amount, **extra}


def test_seeded_episode_terminates_on_the_target(everything_server: BackgroundServer) -> None:
    targets = []
    for _ in range(2):
        with v1_session(everything_server) as ws:
            reset = ask(ws, "reset", {"seed": 11, "episode_id": "ep-11", "task_id": "reach-small"})["data"]
            assert reset["reward"] is None and reset["observation"]["task"] == "reach-small"
            assert reset["metadata"] == {"seed": 11, "task_id": "reach-small", "split": "train"}
            targets.append(reset["observation"]["target"])
    assert targets[0] == targets[1] and 1 <= targets[0] <= 10
    with v1_session(everything_server) as ws:
        target = ask(ws, "reset", {"seed": 11, "task": "reach-small"})["data"]["observation"]["target"]
        first = ask(ws, "step", move("add", target - 1, note="hi"))["data"]
        assert first["reward"] == -0.1 and first["observation"]["note"] == "hi"
        assert first["metadata"]["reward_info"] == {
            "source": "step",
            "pending": False,
            "components": [{"name": "move", "value": 1.0, "weight": -0.1}],
        }
        assert (first["done"], first["terminated"], first["truncated"]) == (False, False, False)
        hit = ask(ws, "step", move("add", 1))["data"]
        assert hit["reward"] == 1.0 and hit["terminated"] and not hit["truncated"] and hit["done"]
        assert hit["observation"]["event"] == "hit"
        after = ask(ws, "step", move("add", 1))
        assert after["type"] == "error" and after["data"]["code"] == "EPISODE_ENDED"
        state = ask(ws, "state")["data"]
        assert state["step_count"] == 2 and state["value"] == target and state["total_reward"] == 0.9
        assert [s["reward"] for s in state["trajectory"]["steps"]] == [-0.1, 1.0]


def test_tasks_by_id_by_seed_and_unknown(everything_server: BackgroundServer) -> None:
    with v1_session(everything_server) as ws:
        picked = {ask(ws, "reset", {"seed": seed})["data"]["metadata"]["task_id"] for seed in range(30)}
        assert picked == set(TASKS)  # drawn from every task by the seed
        again = {ask(ws, "reset", {"seed": 7, "split": "train"})["data"]["metadata"]["task_id"] for _ in range(3)}
        assert len(again) == 1 and again <= {"reach-small", "reach-scored"}
        for data in ({"task_id": "nope"}, {"task_id": "reach-large", "split": "train"}, {"task": "reach-small",
                     "task_id": "reach-large"}):  # fmt: skip
            error = ask(ws, "reset", data)["data"]
            assert error["code"] == "VALIDATION_ERROR", data
    with httpx.Client(base_url=everything_server.base_url, timeout=10) as http:
        assert http.get("/everything/splits").json() == [{"name": "train", "type": "split"},
                                                         {"name": "test", "type": "split"}]  # fmt: skip
        tasks = http.post("/everything/tasks", json={}).json()["tasks"]
        assert [t["id"] for t in tasks] == list(TASKS)
        meta = http.get("/metadata").json()
        assert meta["taskset"] == {"num_tasks": 3, "splits": [{"name": "train", "num_tasks": 2},
                                                             {"name": "test", "num_tasks": 1}]}  # fmt: skip


def test_a_scored_task_is_pending_until_its_end_and_the_record_is_bounded(everything_server: BackgroundServer) -> None:
    with v1_session(everything_server) as ws:
        target = ask(ws, "reset", {"seed": 3, "task_id": "reach-scored", "max_steps": 6})["data"]["observation"][
            "target"
        ]
        for _ in range(5):
            step = ask(ws, "step", move("add", 0))["data"]
            assert step["reward"] == 0.0 and step["metadata"]["reward_info"]["pending"] is True
        last = ask(ws, "step", move("add", 0))["data"]
        assert last["truncated"] and last["reward"] == round(-target / 10, 6)
        info = last["metadata"]["reward_info"]
        assert info["source"] == "trajectory_scorer" and info["scorer"] == "reach_scorer" and not info["pending"]
        assert [c["name"] for c in info["components"]] == ["reached", "distance"]
        record = ask(ws, "state")["data"]["trajectory"]
        assert record["max_steps"] == 4 and record["dropped"] == 2 and len(record["steps"]) == 4
        assert record["steps"][-1]["reward"] == last["reward"]


def test_truncated_and_stopped_episodes(everything_server: BackgroundServer) -> None:
    with v1_session(everything_server) as ws:
        ask(ws, "reset", {"seed": 5, "task": "reach-large", "max_steps": 2})
        assert ask(ws, "step", move("sub", 0))["data"]["truncated"] is False
        last = ask(ws, "step", move("sub", 0))["data"]
        assert last["truncated"] and not last["terminated"] and last["observation"]["event"] == "out_of_steps"
        target = ask(ws, "reset", {"seed": 5, "task": "reach-large"})["data"]["observation"]["target"]
        assert 11 <= target <= 50
        stop = ask(ws, "step", move("stop", 0))["data"]
        assert stop["terminated"] and stop["reward"] == round(-target / 10, 6)


@pytest.mark.parametrize(
    ("action", "loc"),
    [
        (move("add", "3"), ["data", "amount"]),
        (move("jump", 1), ["data", "op"]),
        (move("add", 11), ["data", "amount"]),
        (move("add", -1), ["data", "amount"]),
        ({"op": "add"}, ["data", "amount"]),
        (move("add", 1, note="x" * 65), ["data", "note"]),
        (move("add", 1, extra=True), ["data", "extra"]),
    ],
)
def test_invalid_actions_are_located(everything_server: BackgroundServer, action: Any, loc: list[str]) -> None:
    with v1_session(everything_server) as ws:
        ask(ws, "reset", {"seed": 1})
        error = ask(ws, "step", action)
        assert error["type"] == "error" and error["data"]["code"] == "VALIDATION_ERROR"
        assert loc in [e["loc"] for e in error["data"]["errors"]]
        assert ask(ws, "state")["type"] == "state"  # the session stays open


def test_invalid_reset_options(everything_server: BackgroundServer) -> None:
    with v1_session(everything_server) as ws:
        error = ask(ws, "reset", {"task": "nope", "max_steps": 0, "step_delay_s": 11.0})["data"]
        assert error["code"] == "VALIDATION_ERROR"
        locs = [e["loc"] for e in error["errors"]]
        assert ["data", "task"] in locs and ["data", "max_steps"] in locs and ["data", "step_delay_s"] in locs
        assert ask(ws, "reset", {"colour": "red"})["data"]["code"] == "VALIDATION_ERROR"
        before = ask(ws, "step", move("add", 1))["data"]
        assert before["code"] == "EPISODE_NOT_STARTED"


def test_slow_step_is_bounded_by_the_step_timeout() -> None:
    with BackgroundServer(build_app(step_timeout_s=0.3)) as server, v1_session(server) as ws:
        assert ask(ws, "reset", {"seed": 2, "step_delay_s": 0.05})["type"] == "observation"
        assert ask(ws, "step", move("add", 0))["type"] == "observation"
        ask(ws, "reset", {"seed": 2, "step_delay_s": 2.0})
        started = time.monotonic()
        error = ask(ws, "step", move("add", 0))
        assert error["data"]["code"] == "STEP_TIMEOUT" and time.monotonic() - started < 1.5
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011


def test_mcp_tools_are_json_rpc_not_steps(everything_server: BackgroundServer) -> None:
    with v1_session(everything_server) as ws:
        target = ask(ws, "reset", {"seed": 9})["data"]["observation"]["target"]
        ask(ws, "step", move("add", 2))
        peek = ask(
            ws,
            "mcp",
            {"jsonrpc": "2.0", "id": "p", "method": "tools/call", "params": {"name": "peek"}},
        )
        assert peek["data"]["result"]["structuredContent"] == {
            "value": 2,
            "target": target,
            "step_count": 1,
        }
        assert ask(ws, "state")["data"]["step_count"] == 1
        tool_step = ask(ws, "step", {"type": "call_tool", "tool_name": "peek"})
        assert tool_step["data"]["code"] == "VALIDATION_ERROR"
    with httpx.Client(base_url=everything_server.base_url, timeout=10) as http:
        listed = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).json()
        tools = {t["name"]: t for t in listed["result"]["tools"]}
        assert sorted(tools) == ["describe_task", "peek"]
        assert tools["describe_task"]["inputSchema"]["properties"]["task"]["enum"] == sorted(
            TASKS, key=list(TASKS).index
        )
        params = {"name": "describe_task", "arguments": {"task": "reach-large"}}
        described = http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params})
        assert described.json()["result"]["structuredContent"]["split"] == "test"
        bad = {"name": "describe_task", "arguments": {"task": "nope"}}
        rejected = http.post("/mcp", json={"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": bad}).json()
        assert rejected["error"]["code"] == -32602


def test_http_surface_and_discovery(everything_server: BackgroundServer) -> None:
    manifest = load_manifest()
    with httpx.Client(base_url=everything_server.base_url, timeout=10) as http:
        meta = http.get("/metadata").json()
        assert meta["limits"] == manifest["limits"] and meta["capabilities"] == manifest["capabilities"]
        assert meta["trajectory"] == {"max_steps": 4}
        assert meta["protocols"] == manifest["protocol"] and meta["version"] == manifest["version"]
        schema = http.get("/schema").json()
        assert schema["reset_observation"]["title"] == "EverythingResetObservation"
        assert schema["observation"]["title"] == "EverythingObservation"
        assert schema["action"]["required"] == ["op", "amount"]
        assert schema["action"]["properties"]["amount"]["maximum"] == 10
        reset = http.post("/reset", json={"seed": 4, "task": "reach-large"}).json()
        assert reset["observation"]["split"] == "test" and reset["reward"] is None
        step = http.post("/step", json={"action": move("add", 1)}).json()
        # stateless: /step resets with a fresh random seed first (any task), so the target may be 1
        hit = step["observation"]["target"] == 1
        pending = step["metadata"]["reward_info"]["pending"]
        assert step["observation"]["value"] == 1 and step["reward"] == (1.0 if hit else 0.0 if pending else -0.1)
        assert step["done"] is hit
        assert http.post("/step", json={"action": move("add", "1")}).status_code == 422
        assert http.get("/state").json()["step_count"] == 0


def test_conformance_suite_passes() -> None:
    """The harness (conformance/) certifies this server on the core, v1, mcp and http profiles."""
    with BackgroundServer(build_app()) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "openenv_conformance",
                "run",
                server.base_url,
                "--profile",
                "core,v1,mcp",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "RESULT: PASSED" in proc.stdout
