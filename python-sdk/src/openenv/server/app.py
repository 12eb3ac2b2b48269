"""`create_app`: an OpenEnv server as a plain ASGI application — the router on top.

`OpenEnvApp` routes `WS /ws` to a `SessionRunner` (one session per connection, see `websocket.py`),
HTTP to `HttpEndpoints` (`http.py`) and lifespan events to the service; everything they share is
its `EnvService` (`service.py`). It can be mounted inside any ASGI framework or run with
`openenv.server.run`. A WebSocket upgrade beyond `max_sessions` is refused *before* the upgrade with
HTTP 503, `Retry-After` and an `error` frame as the body (OE-LIM-011).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from openenv.server.asgi import Receive, Scope, SendFn
from openenv.server.config import ServerConfig, manifest_settings
from openenv.server.environment import Environment
from openenv.server.http import HttpEndpoints
from openenv.server.service import EnvFactory, EnvService
from openenv.server.tasks_http import TaskRoutes
from openenv.server.websocket import SessionRunner

log = logging.getLogger("openenv.server")


class OpenEnvApp:
    """The ASGI application of one environment server."""

    def __init__(
        self,
        env: type[Environment[Any, Any, Any]] | EnvFactory,
        config: ServerConfig,
        *,
        env_class: type[Environment[Any, Any, Any]] | None = None,
    ) -> None:
        self.service = EnvService(env, config, env_class=env_class)
        self.http = HttpEndpoints(self.service)
        self.tasks = TaskRoutes.for_service(self.service)  # the Task API, when the env sets `taskset`

    @property
    def config(self) -> ServerConfig:
        """The server's settings (set it before serving to change them)."""
        return self.service.config

    @config.setter
    def config(self, config: ServerConfig) -> None:
        self.service.reconfigure(**{name: getattr(config, name) for name in config.__dataclass_fields__})

    @property
    def env_class(self) -> type[Environment[Any, Any, Any]]:
        return self.service.env_class

    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            if self.tasks is not None and self.tasks.handles(scope["path"]):
                await self.tasks(scope, receive, send)
                return
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope["path"] != "/ws":
            await self._deny(scope, send, 404, orjson.dumps({"detail": "Not Found"}), [])
            return
        service = self.service
        slot = None
        if b"session_id=" not in (scope.get("query_string") or b""):  # an attach uses the named session's slot
            slot = service.capacity.acquire()
            if slot is None:
                await self._deny(scope, send, 503, service.capacity_body(), service.retry_after())
                return
        try:
            await SessionRunner(service, scope, receive, send, slot=slot).run()
        except Exception:
            log.exception("session failed")
        finally:
            if slot is not None:
                slot.release()

    @staticmethod
    async def _deny(scope: Scope, send: SendFn, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """Refuse an upgrade with an HTTP response (falls back to a 403 close without the extension)."""
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json"), *headers],
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1013 if status == 503 else 1008})

    async def _lifespan(self, receive: Receive, send: SendFn) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.service.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    env: type[Environment[Any, Any, Any]] | EnvFactory,
    *,
    name: str | None = None,
    env_class: type[Environment[Any, Any, Any]] | None = None,
    manifest: str | Path | None = None,
    **settings: Any,
) -> OpenEnvApp:
    """Build the ASGI app serving `env` (an `Environment` subclass or a zero-argument factory).

    Args:
        env: the environment class, or a factory returning a fresh instance per session.
        name: the environment name (defaults to the manifest's, then the class name).
        env_class: the class the factory returns (required with a factory).
        manifest: an `openenv.yaml` whose name, version, description, limits and tasks the
            server adopts (OE-HTTP-004, OE-MAN-010); explicit arguments win.
        **settings: any `ServerConfig` field (`max_sessions`, `step_timeout_s`, ...).
    """
    cls = env if isinstance(env, type) else env_class
    if manifest is not None:
        from openenv.manifest import load_manifest

        settings = {**manifest_settings(load_manifest(Path(manifest))), **settings}
    from_manifest = settings.pop("name", None)
    resolved = name or from_manifest or (cls.__name__ if cls is not None else "environment")
    return OpenEnvApp(env, ServerConfig(name=resolved, **settings), env_class=env_class)
