"""openenv 0.10's own clients (in `.venv-openenv010`, a separate process) drive our echo_env.

`legacy_clients.py` runs under the 0.10 interpreter against the echo app served by the real
runtime on loopback and prints what the clients returned; these tests check those values.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from openenv.server.background import BackgroundServer

from interop.legacy_server import legacy_env, legacy_python

SCRIPT = Path(__file__).resolve().parent / "legacy_clients.py"
READY = {"status": "ready", "message": "Echo environment ready!"}
RUN_TIMEOUT_S = 60


def run_legacy(mode: str, base_url: str) -> dict[str, Any]:
    python = legacy_python()
    proc = subprocess.run(
        [str(python), str(SCRIPT), mode, base_url],
        env=legacy_env(),
        cwd=SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"0.10 {mode} client failed:\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def test_010_generic_env_client(echo_server: BackgroundServer) -> None:
    report = run_legacy("generic", echo_server.base_url)
    assert report["reset"] == {"observation": {"metadata": READY}, "reward": 0.0, "done": False}
    assert report["state0"] == {"episode_id": "legacy-ep", "step_count": 0}
    echo = report["echo"]
    assert echo["reward"] is None and echo["done"] is False
    assert echo["observation"]["tool_name"] == "echo_message"
    assert echo["observation"]["result"]["data"] == "hi"
    assert report["length"]["result"]["data"] == {"message": "hello", "length": 5}
    assert [t["name"] for t in report["tools"]] == ["echo_message", "echo_with_length"]
    assert report["state"] == {"episode_id": "legacy-ep", "step_count": 3}


def test_010_mcp_tool_client(echo_server: BackgroundServer) -> None:
    report = run_legacy("mcp", echo_server.base_url)
    assert report["reset_reward"] == 0.0 and report["reset_metadata"] == READY
    assert [t["name"] for t in report["tools"]] == ["echo_message", "echo_with_length"]
    assert report["tools"][0]["description"] == "Echo back the provided message."
    assert report["echo"] == "over mcp"
    assert report["length"] == {"message": "abcd", "length": 4}
    # tool calls on POST /mcp ran in the session the WebSocket is attached to: not steps
    assert report["state"] == {"episode_id": "mcp-ep", "step_count": 0}
