"""Run an OpenEnv ASGI app on uvicorn, configured for throughput.

uvloop + httptools + `uvicorn_ws.OpenEnvWebSocketProtocol` (the app's `/ws` sessions served
straight from the socket; everything else through websockets' sans-I/O implementation over ASGI;
when the installed uvicorn is not the release that protocol was written for, `ws_protocol()` logs
one line and serves `/ws` over plain ASGI with uvicorn's own `websockets-sansio` protocol),
per-message compression off, access log off. On the direct path every message over the app's
`max_message_bytes` gets `MESSAGE_TOO_LARGE` and a 1009 close, judged from its frame header. On the
ASGI path uvicorn's own limit is twice the app's: messages between the two get the error frame
before the 1009 close, larger ones are cut by uvicorn with 1009.

`run_processes` serves an app by import path in several worker processes on one port (`workers`)
or under uvicorn's reloader (`reload`): each process rebuilds the app with `app_from_environment`
from the spec the parent puts in `$OPENENV_SERVE_SPEC` (import path, `sys.path` entries, config
overrides). Every worker has its own sessions and limits; a named session lives in one worker.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from openenv.server.app import OpenEnvApp

log = logging.getLogger("openenv.server")


def load_app(target: str) -> OpenEnvApp:
    """Import `module:attribute` and check it is an `OpenEnvApp`."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:attribute', got {target!r}")
    module = importlib.import_module(module_name)
    app = getattr(module, attribute, None)
    if not isinstance(app, OpenEnvApp):
        raise ValueError(f"{target} is not an app made by openenv.server.create_app")
    return app


def ws_protocol() -> Any:
    """The WebSocket protocol for uvicorn: the direct `/ws` path when the installed uvicorn is the
    one it was written for, else uvicorn's own sans-I/O protocol (plain ASGI), with a log line."""
    try:
        from openenv.server import uvicorn_ws
    except ImportError as exc:
        problem: str | None = f"cannot import uvicorn's sans-I/O WebSocket protocol ({exc})"
    else:
        problem = uvicorn_ws.compatibility_problem()
        if problem is None:
            return uvicorn_ws.OpenEnvWebSocketProtocol
    log.warning("openenv: %s; serving /ws over plain ASGI (slower, same behaviour)", problem)
    return "websockets-sansio"


def uvicorn_config(app: OpenEnvApp, host: str = "127.0.0.1", port: int = 8000, **overrides: Any) -> Any:
    import uvicorn

    return uvicorn.Config(app, **uvicorn_options(app, host, port, **overrides))


def uvicorn_options(app: OpenEnvApp, host: str = "127.0.0.1", port: int = 8000, **overrides: Any) -> dict[str, Any]:
    """The `uvicorn.Config` keyword arguments `run` uses for `app`."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": "httptools",
        "ws": ws_protocol(),
        "ws_per_message_deflate": False,
        "ws_max_size": 2 * app.config.max_message_bytes,
        "access_log": False,
        "log_level": "warning",
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    return options


class _DenialNoiseFilter(logging.Filter):
    """Drop uvicorn's false alarm after a deliberate pre-upgrade refusal (HTTP 503 / 404).

    uvicorn's sans-I/O WebSocket protocol marks the handshake complete only for `websocket.accept`
    and `websocket.close`, so a completed `websocket.http.response` is logged as an error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


def install_log_filters() -> None:
    logging.getLogger("uvicorn.error").addFilter(_DenialNoiseFilter())


def run(app: OpenEnvApp, host: str = "127.0.0.1", port: int = 8000, **overrides: Any) -> None:
    """Serve `app` until interrupted."""
    import uvicorn

    install_log_filters()
    uvicorn.Server(uvicorn_config(app, host, port, **overrides)).run()


SERVE_SPEC_ENV = "OPENENV_SERVE_SPEC"
"""The variable through which `run_processes` tells worker processes which app to build."""
FACTORY = "openenv.server.runner:app_from_environment"


def app_from_environment() -> OpenEnvApp:
    """uvicorn factory of worker and reload processes: the app `$OPENENV_SERVE_SPEC` names.

    The spec is JSON `{"app": "module:attribute", "sys_path": [...], "config": {...}}`; `config`
    holds `ServerConfig` overrides (the CLI's limit options).
    """
    spec = json.loads(os.environ[SERVE_SPEC_ENV])
    for entry in reversed(spec.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    app = load_app(spec["app"])
    if spec.get("config"):
        app.config = dataclasses.replace(app.config, **spec["config"])
    install_log_filters()
    return app


def run_processes(
    target: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    reload: bool = False,
    reload_dirs: Sequence[str] = (),
    sys_path: Sequence[str] = (),
    config: dict[str, Any] | None = None,
) -> None:
    """Serve the app at import path `target` in `workers` processes on one port, or with reload.

    The app is built once here first, so a bad target or override fails before any process starts.
    """
    import uvicorn

    spec = {"app": target, "sys_path": list(sys_path), "config": config or {}}
    os.environ[SERVE_SPEC_ENV] = json.dumps(spec)
    probe = app_from_environment()
    options = uvicorn_options(probe, host, port)
    if reload:
        options.update(reload=True, reload_dirs=list(reload_dirs) or None)
    else:
        options["workers"] = workers
    uvicorn.run(FACTORY, factory=True, **options)
