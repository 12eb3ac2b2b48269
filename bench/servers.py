"""Start the servers under test: openenv 0.10.0 (``legacy``), this project's (``ours``), and the
load generator's ceiling reference (``echo``: ``bench/loadgen/echo_server.js``, a trivial Node
``ws`` server that answers every message with a fixed observation frame).

Both serve the same line environment on a free 127.0.0.1 port, optionally pinned with
``taskset -c CPU``. ``legacy`` is ``interop/legacy_envs/typed_app.py`` under 0.10's uvicorn;
``ours`` is ``bench/envs/ours_typed.py`` launched with one of:

* ``serve``   — ``.venv/bin/openenv serve bench.envs.ours_typed:app --host 127.0.0.1 --port N``
* ``module``  — ``.venv/bin/python -m openenv serve bench.envs.ours_typed:app ...``
* ``uvicorn`` — ``.venv/bin/python -m uvicorn bench.envs.ours_typed:app ...`` (same flags as 0.10)
* ``auto``    — ``serve`` when the ``openenv`` console script exists, else ``module``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from bench.node_loadgen import start_echo_server
from interop.legacy_server import start_legacy_server
from interop.server_process import ServerProcess, free_port, start_server_process

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS_APP = "bench.envs.ours_typed:app"
OURS_SYNC_APP = "bench.envs.ours_sync:app"
OURS_MCP_ECHO_APP = "bench.envs.ours_mcp_echo:app"
Side = Literal["legacy", "ours", "echo"]
Launcher = Literal["auto", "serve", "module", "uvicorn"]
SIDES: tuple[Side, ...] = ("legacy", "ours")


def ours_argv(launcher: Launcher, port: int, app: str = OURS_APP) -> list[str]:
    """The command line that serves ``app`` (default ``OURS_APP``) on ``port`` with the given launcher."""
    python = sys.executable
    console = Path(python).parent / "openenv"
    if launcher == "auto":
        launcher = "serve" if console.exists() else "module"
    address = ["--host", "127.0.0.1", "--port", str(port)]
    if launcher == "serve":
        return [str(console), "serve", app, *address]
    if launcher == "module":
        return [python, "-m", "openenv", "serve", app, *address]
    quiet = ["--log-level", "warning", "--no-access-log"]
    return [python, "-m", "uvicorn", app, *address, *quiet]


def start_ours(*, cpu: int | None, launcher: Launcher, startup_timeout_s: float, app: str = OURS_APP) -> ServerProcess:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return start_server_process(
        ours_argv(launcher, port, app),
        port=port,
        name={OURS_SYNC_APP: "ours-sync", OURS_MCP_ECHO_APP: "ours-mcp-echo"}.get(app, "ours-typed"),
        env=env,
        cwd=REPO_ROOT,
        cpu=cpu,
        startup_timeout_s=startup_timeout_s,
    )


def start_side(
    side: Side,
    *,
    cpu: int | None,
    max_sessions: int,
    launcher: Launcher = "auto",
    startup_timeout_s: float = 60.0,
) -> ServerProcess:
    """Start the server of ``side``; ``max_sessions`` only applies to 0.10 (ours is fixed)."""
    if side == "echo":
        return start_echo_server(cpu=cpu, startup_timeout_s=startup_timeout_s)
    if side == "legacy":
        return start_legacy_server("typed", max_sessions=max_sessions, cpu=cpu, startup_timeout_s=startup_timeout_s)
    return start_ours(cpu=cpu, launcher=launcher, startup_timeout_s=startup_timeout_s)
