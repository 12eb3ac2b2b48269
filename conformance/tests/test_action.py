"""The composite CI action (`action.yml` at the repository root): well formed, every input it uses
is declared, its shell steps are valid bash, and its start-and-certify steps really certify a
reference server (run here with bash, as a runner would, against `openenv serve` on loopback).

What cannot run here (`actions/setup-python`, `actions/upload-artifact`, the pip install from the
action's checkout) is checked for shape only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / "action.yml"
BIN = Path(sys.executable).parent


def _action() -> dict[str, Any]:
    raw = yaml.safe_load(ACTION.read_text("utf-8"))
    assert isinstance(raw, dict)
    return raw


def _step(name: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("name") == name)


def test_action_is_a_composite_with_declared_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    declared = set(action["inputs"])
    used = set(re.findall(r"inputs\.([a-z0-9-]+)", ACTION.read_text("utf-8")))
    assert used <= declared, used - declared
    for step in action["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step.get("name")
            assert "${{" not in step["run"], f"{step.get('name')}: inputs reach scripts only through env"


def test_shell_steps_are_valid_bash() -> None:
    for step in _action()["runs"]["steps"]:
        if "run" in step:
            subprocess.run(["bash", "-n"], input=step["run"], text=True, check=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_step(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    step = _step(name)
    step_env = {k: str(v).replace("${{ inputs.startup-timeout }}", "30") for k, v in step.get("env", {}).items()}
    full = {**env, **{k: v for k, v in step_env.items() if not v.startswith("${{")}}
    return subprocess.run(["bash", "-c", step["run"]], env=full, cwd=cwd, text=True, capture_output=True, timeout=600)


def test_start_and_certify_steps_certify_a_reference_server(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    github_env, github_output = tmp_path / "env", tmp_path / "output"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ENV": str(github_env),
        "GITHUB_OUTPUT": str(github_output),
        "OE_START": f"{BIN / 'openenv'} serve {REPO / 'reference-servers' / 'echo_env'} --port {port}",
        "OE_URL": url,
        "OE_STARTUP_TIMEOUT": "60",
        "OE_PROFILES": "core",
        "OE_EXPECTED": "",
        "OE_ARGS": "--timeout 5",
        "OE_REPORTS": str(tmp_path / "reports"),
    }
    started = _run_step("Start the server and wait for /health", env, tmp_path)
    pid = dict(line.split("=", 1) for line in github_env.read_text().split()).get("OE_SERVER_PID")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        certified = _run_step("Certify the server", env, tmp_path)
        assert certified.returncode == 0, certified.stdout + certified.stderr
    finally:
        if pid:
            subprocess.run(["kill", pid], check=False)
    assert "passed=true" in github_output.read_text()
    assert "OE_SERVER_STATUS=0" in github_env.read_text()
    report = json.loads((tmp_path / "reports" / "server" / "report.json").read_text())
    assert report["passed"] and report["profiles"] == ["core"]
    assert (tmp_path / "reports" / "server" / "junit.xml").exists()
