"""`openenv.core` against the real `openenv==0.10.0`: every public name, kind and signature.

`api_dump.py` describes both packages — 0.10's in `.venv-openenv010`, ours in this interpreter —
and this test compares them: each public name of 0.10's modules exists in ours with the same kind;
functions and public methods have the same parameters (names, kinds, which have defaults); models
have 0.10's fields with the same requiredness (ours may add only `EXTRA_FIELDS`); enums have the
same members. What is deliberately not ported is listed in `NOT_PORTED` with the reason, and the
list must stay exact (a name ported later has to leave it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
LEGACY_PYTHON = REPO / ".venv-openenv010" / "bin" / "python"
DUMP = Path(__file__).with_name("api_dump.py")

EXTRA_FIELDS = {"terminated", "truncated"}
"""Fields our observations add (episode flags the v1 wire carries; never sent at the base level)."""

NOT_PORTED: dict[str, str] = {
    "AnthropicClient": "LLM client helpers, not part of the environment API",
    "LLMClient": "LLM client helpers, not part of the environment API",
    "LLMResponse": "LLM client helpers, not part of the environment API",
    "OpenAIClient": "LLM client helpers, not part of the environment API",
    "ToolCall": "LLM client helpers, not part of the environment API",
    "create_llm_client": "LLM client helpers, not part of the environment API",
    "LLMJudge": "needs an LLM client",
    "GetEndpointConfig": "custom FastAPI routes: our runtime is not FastAPI",
    "WebInterfaceManager": "the Gradio web interface (/web) is not served",
    "create_web_interface_app": "the Gradio web interface (/web) is not served",
    "*.from_env": "Hugging Face Hub start-up (pull a Space's image, or clone it and run it with uv): nothing "
    "here can reach the Hub to test it; start the server with openenv.providers and pass base_url",
    "HTTPEnvServer.active_sessions": "0.10's session manager internals; our runtime owns sessions",
    "HTTPEnvServer.get_capacity_status": "0.10's session manager internals; our runtime owns sessions",
    "HTTPEnvServer.get_session_info": "0.10's session manager internals; our runtime owns sessions",
    "HTTPEnvServer.register_routes": "FastAPI route registration: our runtime is not FastAPI",
}


def _dump(python: Path | str, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run(
        [str(python), str(DUMP)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data: dict[str, Any] = json.loads(done.stdout)
    return data


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    if not LEGACY_PYTHON.exists():
        pytest.skip("the openenv 0.10.0 peer is not installed (make venv-openenv010)")
    outside = tmp_path_factory.mktemp("api")  # so that neither interpreter sees this checkout's sources by accident
    return _dump(LEGACY_PYTHON, outside), _dump(sys.executable, outside)


def _differences(theirs: dict[str, Any], ours: dict[str, Any]) -> tuple[list[str], set[str]]:
    problems: list[str] = []
    skipped: set[str] = set()
    for module, described in theirs.items():
        assert "error" not in described, f"0.10 could not import {module}: {described['error']}"
        if "error" in ours.get(module, {"error": "absent"}):
            problems.append(f"{module}: not importable in ours ({ours.get(module)})")
            continue
        mine = ours[module]["names"]
        for name, spec in described["names"].items():
            if spec["kind"] == "TypeVar":
                continue
            if name in NOT_PORTED:
                skipped.add(name)
                continue
            if name not in mine:
                problems.append(f"{module}.{name}: missing")
                continue
            problems += [f"{module}.{name}: {p}" for p in _compare(name, spec, mine[name], skipped)]
    return problems, skipped


def _compare(name: str, theirs: dict[str, Any], ours: dict[str, Any], skipped: set[str]) -> list[str]:
    if theirs["kind"] != ours["kind"]:
        return [f"kind {theirs['kind']} != {ours['kind']}"]
    problems = []
    if theirs["kind"] == "function" and theirs["params"] != ours["params"]:
        problems.append(f"parameters {theirs['params']} != {ours['params']}")
    if "members" in theirs and theirs["members"] != ours.get("members"):
        problems.append(f"enum members {theirs['members']} != {ours.get('members')}")
    if "fields" in theirs:
        fields = ours.get("fields", {})
        for field, required in theirs["fields"].items():
            if fields.get(field) is not required:
                problems.append(f"field {field}: required={required} in 0.10, {fields.get(field)} in ours")
        extra = set(fields) - set(theirs["fields"]) - EXTRA_FIELDS
        if extra:
            problems.append(f"fields only in ours: {sorted(extra)}")
    for method, signature in theirs.get("methods", {}).items():
        for key in (f"{name}.{method}", f"*.{method}"):
            if key in NOT_PORTED:
                skipped.add(key)
                break
        else:
            if method not in ours.get("methods", {}):
                problems.append(f"method {method}: missing")
            elif ours["methods"][method] != signature:
                problems.append(f"method {method}: {signature} != {ours['methods'][method]}")
    return problems


def test_every_public_name_of_010_exists_with_the_same_signature(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    theirs, ours = both
    problems, _ = _differences(theirs, ours)
    assert problems == []


def test_the_not_ported_list_is_exact(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    theirs, ours = both
    _, skipped = _differences(theirs, ours)
    assert skipped == set(NOT_PORTED), "NOT_PORTED lists names 0.10 does not have, or that are now ported"
    for module in ours.values():
        for name in module["names"]:
            assert name not in NOT_PORTED, f"{name} is ported: remove it from NOT_PORTED"


def test_the_comparison_sees_a_changed_signature(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    theirs, ours = both
    broken = json.loads(json.dumps(ours))
    reset = broken["openenv.core.env_server.interfaces"]["names"]["Environment"]["methods"]["reset"]
    reset[1][0] = "rng_seed"
    problems, _ = _differences(theirs, broken)
    assert problems == ["openenv.core.env_server.interfaces.Environment: method reset: "
                        f"{theirs['openenv.core.env_server.interfaces']['names']['Environment']['methods']['reset']}"
                        f" != {reset}"]  # fmt: skip
