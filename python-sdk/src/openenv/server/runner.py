"""Run an OpenEnv ASGI app on uvicorn, configured for throughput.

uvloop + httptools + `uvicorn_ws.OpenEnvWebSocketProtocol` (the app's `/ws` sessions served
straight from the socket; everything else through websockets' sans-I/O implementation over ASGI),
per-message compression off, access log off. On the direct path every message over the app's
`max_message_bytes` gets `MESSAGE_TOO_LARGE` and a 1009 close, judged from its frame header. On the
ASGI path uvicorn's own limit is twice the app's: messages between the two get the error frame
before the 1009 close, larger ones are cut by uvicorn with 1009.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from openenv.server.app import OpenEnvApp
from openenv.server.uvicorn_ws import OpenEnvWebSocketProtocol


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


def uvicorn_config(app: OpenEnvApp, host: str = "127.0.0.1", port: int = 8000, **overrides: Any) -> Any:
    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": "httptools",
        "ws": OpenEnvWebSocketProtocol,
        "ws_per_message_deflate": False,
        "ws_max_size": 2 * app.config.max_message_bytes,
        "access_log": False,
        "log_level": "warning",
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


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
