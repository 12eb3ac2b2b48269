"""Launch the real ``openenv==0.10.0`` servers in ``interop/legacy_envs/`` as child processes.

Imported from the project's ``.venv`` Python; the server itself runs under
``.venv-openenv010/bin/python -m uvicorn <module>:app --host 127.0.0.1 --port <free>
--log-level warning --no-access-log`` (optionally under ``taskset -c CPU``) with the working
directory ``interop/legacy_envs/`` and a clean environment: ``MAX_CONCURRENT_ENVS`` set,
``ENABLE_WEB_INTERFACE=false``, and no ``PYTHONPATH``/``VIRTUAL_ENV``/``OPENENV_MODE`` leaking in
(so ``import openenv`` there is always the 0.10.0 package). :func:`start_legacy_server` returns
once ``GET /health`` answers; it raises :class:`ServerStartError` (with the server's stderr tail)
if the process dies or is not healthy within the bound.
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
LEGACY_ENVS_DIR = Path(__file__).resolve().parent / "legacy_envs"

LegacyApp = Literal["echo", "typed"]
LEGACY_APPS: dict[str, str] = {"echo": "echo_app:app", "typed": "typed_app:app"}
MAX_SESSIONS_LIMIT = 100_000
_LEAKY_ENV_VARS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OPENENV_MODE", "PYTHONSTARTUP")
_PORT_ATTEMPTS = 3

LegacyServer = ServerProcess

__all__ = [
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
) -> LegacyServer:
    """Start one 0.10 server (``"echo"`` or ``"typed"``) on a free loopback port."""
    if app not in LEGACY_APPS:
        raise ValueError(f"unknown legacy app {app!r}; expected one of {sorted(LEGACY_APPS)}")
    if not 1 <= max_sessions <= MAX_SESSIONS_LIMIT:
        raise ValueError(f"max_sessions must be in 1..{MAX_SESSIONS_LIMIT}, got {max_sessions}")
    python = legacy_python()
    env = legacy_env({"MAX_CONCURRENT_ENVS": str(max_sessions)})
    last_error: ServerStartError | None = None
    for _ in range(_PORT_ATTEMPTS):
        port = free_port()
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
                name=f"openenv010-{app}",
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
