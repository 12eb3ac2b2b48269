"""Each environment package's OWN client (``client.py``), from 0.10 and from ours, against both servers.

``interop/legacy_clients.py`` plays the same scripted session through the package's client; it is
run by 0.10's interpreter (its ``EnvClient``/``MCPToolClient``) and by ours (``openenv.core``),
each against the app served by 0.10 and by our runtime. What a client sees must not depend on the
server it talks to (one documented exception below), and our client must see exactly what 0.10's
client sees.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from interop import legacy_server
from interop.legacy_server import COMPAT_PYTHON, LEGACY_ENVS_DIR, LEGACY_PYTHON, legacy_env, start_legacy_server

SCRIPT = Path(__file__).resolve().parents[1] / "legacy_clients.py"
CLIENTS = {"openenv010": LEGACY_PYTHON, "ours": COMPAT_PYTHON}
TOOL_ERROR_AS_RESULT = {"empty_note"}
"""0.10's server answers a failing tool's JSON-RPC call with a JSON-RPC error, so 0.10's
``MCPToolClient.call_tool`` raises; ours answers with an ``isError`` result, as MCP specifies, and
that client then returns ``None`` (the one difference a 0.10 client sees on ours)."""


@pytest.fixture(scope="module", autouse=True)
def _peers() -> None:
    for python in (legacy_server.LEGACY_PYTHON, legacy_server.COMPAT_PYTHON):
        if not python.exists():
            pytest.skip(f"{python} missing: run `make venv-openenv010 venv-compat`")


def _play(client: str, app: str, base_url: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(CLIENTS[client]), str(SCRIPT), app, base_url],
        cwd=LEGACY_ENVS_DIR,
        env=legacy_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{client} client on {app}: {done.stderr[-3000:]}"
    seen: dict[str, Any] = json.loads(done.stdout)
    return seen


@pytest.mark.parametrize("app", ["tictactoe", "code_exec", "notes_mcp"])
def test_the_packages_own_clients_see_the_same_on_both_servers(app: str) -> None:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for server_runtime in ("openenv010", "ours"):
        with start_legacy_server(app, runtime=server_runtime, max_sessions=2) as server:  # type: ignore[arg-type]
            for client in CLIENTS:
                seen[client, server_runtime] = _play(client, app, server.base_url)

    def without_tool_errors(client: str, server: str) -> dict[str, Any]:
        return {k: v for k, v in seen[client, server].items() if k not in TOOL_ERROR_AS_RESULT}

    for server_runtime in ("openenv010", "ours"):  # our client behaves as 0.10's, on either server
        assert seen["ours", server_runtime] == seen["openenv010", server_runtime]
    for client in CLIENTS:  # and either client sees the same on either server
        assert without_tool_errors(client, "ours") == without_tool_errors(client, "openenv010")
