"""`BackgroundServer`: serve an app on loopback from a thread — for tests, notebooks and benchmarks.

It is the same uvicorn server `run()` starts, on its own event loop in a daemon thread, bound to a
free port on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from openenv.server.app import OpenEnvApp
from openenv.server.runner import install_log_filters, uvicorn_config


class BackgroundServer:
    """Context manager: `with BackgroundServer(app) as server: server.base_url`."""

    def __init__(self, app: OpenEnvApp, *, host: str = "127.0.0.1", port: int = 0, **overrides: Any):
        import uvicorn

        self.app = app
        self.host = host
        install_log_filters()
        self._server = uvicorn.Server(uvicorn_config(app, host, port, **overrides))
        setattr(self._server, "install_signal_handlers", lambda: None)  # noqa: B010 — no signal handlers off the main thread
        self._thread = threading.Thread(target=self._run, name="openenv-background-server", daemon=True)
        self.port = 0
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout_s: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"background server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("background server did not start in time")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
