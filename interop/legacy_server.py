"""Launch the environments in ``interop/legacy_envs/`` (written for ``openenv==0.10.0``) as child processes.

Imported from the project's ``.venv`` Python. ``runtime="openenv010"`` (the default) runs the real
0.10.0 server: ``.venv-openenv010/bin/python -m uvicorn <module>:app --host 127.0.0.1 --port <free>
--log-level warning --no-access-log``. ``runtime="ours"`` runs the *same, unchanged* app module on
our runtime: ``.venv-compat/bin/python`` (our ``openenv`` installed from ``python-sdk/`` next to the
packages 0.10-era environments bring, such as fastmcp; ``make venv-compat``) importing the module and
serving it with ``openenv.server.run``. Either way (optionally under ``taskset -c CPU``) the working
directory is ``interop/legacy_envs/`` and the environment is clean: ``MAX_CONCURRENT_ENVS`` set,
``ENABLE_WEB_INTERFACE=false``, and no ``PYTHONPATH``/``VIRTUAL_ENV``/``OPENENV_MODE`` leaking in.
:func:`start_legacy_server` returns once ``GET /health`` answers; it raises
:class:`ServerStartError` (with the server's stderr tail) if the process dies or is not healthy
within the bound.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from interop.server_process import (
    ServerProcess,
    ServerStartError,
    free_port,
    start_server_process,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
LEGACY_VENV = REPO_ROOT / ".venv-openenv010"
LEGACY_PYTHON = LEGACY_VENV / "bin" / "python"
COMPAT_VENV = REPO_ROOT / ".venv-compat"
COMPAT_PYTHON = COMPAT_VENV / "bin" / "python"
LEGACY_ENVS_DIR = Path(__file__).resolve().parent / "legacy_envs"

LegacyApp = Literal["echo", "typed", "tictactoe", "code_exec", "notes_mcp"]
Runtime = Literal["openenv010", "ours"]
LEGACY_APPS: dict[str, str] = {
    "echo": "echo_app:app",
    "typed": "typed_app:app",
    "tictactoe": "tictactoe_env.server.app:app",
    "code_exec": "code_exec_env.server.app:app",
    "notes_mcp": "notes_mcp_env.server.app:app",
}
_OURS_LAUNCHER = (
    "import importlib, sys; from openenv.server import run; m, _, a = sys.argv[1].partition(':'); "
    "run(getattr(importlib.import_module(m), a), host='127.0.0.1', port=int(sys.argv[2]))"
)
MAX_SESSIONS_LIMIT = 100_000
_LEAKY_ENV_VARS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OPENENV_MODE", "PYTHONSTARTUP")
_PORT_ATTEMPTS = 3

LegacyServer = ServerProcess

__all__ = [
    "COMPAT_PYTHON",
    "LEGACY_APPS",
    "LEGACY_PYTHON",
    "LegacyServer",
    "ServerStartError",
    "legacy_env",
    "legacy_python",
    "start_legacy_server",
]


def legacy_python() -> Path:
    """The 0.10 venv's interpreter; a clear error if ``make venv-openenv010`` has not run."""
    if not LEGACY_PYTHON.exists():
        raise ServerStartError(f"{LEGACY_PYTHON} not found: create the openenv 0.10.0 peer with `make venv-openenv010`")
    return LEGACY_PYTHON


def compat_python() -> Path:
    """The interpreter of ``.venv-compat`` (our runtime + fastmcp); a clear error when it is missing."""
    if not COMPAT_PYTHON.exists():
        raise ServerStartError(f"{COMPAT_PYTHON} not found: create it with `make venv-compat`")
    return COMPAT_PYTHON


def legacy_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``os.environ`` safe for a ``.venv-openenv010`` child process."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV_VARS}
    env["ENABLE_WEB_INTERFACE"] = "false"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = f"{LEGACY_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def start_legacy_server(
    app: LegacyApp,
    *,
    max_sessions: int = 8,
    cpu: int | None = None,
    startup_timeout_s: float = 60.0,
    runtime: Runtime = "openenv010",
) -> LegacyServer:
    """Start one app of :data:`LEGACY_APPS` on a free loopback port, on 0.10 or on our runtime."""
    if app not in LEGACY_APPS:
        raise ValueError(f"unknown legacy app {app!r}; expected one of {sorted(LEGACY_APPS)}")
    if runtime not in ("openenv010", "ours"):
        raise ValueError(f"runtime must be 'openenv010' or 'ours', got {runtime!r}")
    if not 1 <= max_sessions <= MAX_SESSIONS_LIMIT:
        raise ValueError(f"max_sessions must be in 1..{MAX_SESSIONS_LIMIT}, got {max_sessions}")
    python = legacy_python() if runtime == "openenv010" else compat_python()
    env = legacy_env({"MAX_CONCURRENT_ENVS": str(max_sessions)})
    if runtime == "ours":
        env["PATH"] = f"{COMPAT_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    last_error: ServerStartError | None = None
    for _ in range(_PORT_ATTEMPTS):
        port = free_port()
        argv = [str(python), "-c", _OURS_LAUNCHER, LEGACY_APPS[app], str(port)]
        if runtime == "openenv010":
            argv = [
                str(python),
                "-m",
                "uvicorn",
                LEGACY_APPS[app],
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
        try:
            return start_server_process(
                argv,
                port=port,
                name=f"{runtime}-{app}",
                env=env,
                cwd=LEGACY_ENVS_DIR,
                cpu=cpu,
                startup_timeout_s=startup_timeout_s,
            )
        except ServerStartError as exc:
            # Only a lost race for the port is worth another try.
            if "address already in use" not in str(exc).lower():
                raise
            last_error = exc
    assert last_error is not None
    raise last_error
