"""`create_app`: an OpenEnv server as a plain ASGI application.

The app serves `WS /ws` (one session per connection, see `websocket.py`) and the HTTP surface (see
`http.py`). It can be mounted inside any ASGI framework or run with `openenv.server.run`. Capacity is
counted here: a WebSocket upgrade beyond `max_sessions` is refused *before* the upgrade with HTTP 503,
`Retry-After` and an `error` frame as the body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

import orjson
import pydantic

from openenv.protocol import ErrorCode
from openenv.protocol.frames import encode_error
from openenv.server.config import ServerConfig
from openenv.server.environment import Environment
from openenv.server.faults import InvalidRequest
from openenv.server.host import EnvHost
from openenv.server.http import HttpEndpoints
from openenv.server.registry import SessionRegistry
from openenv.server.tools import MCPEnvironment
from openenv.server.watchdog import Watchdog
from openenv.server.websocket import Receive, Scope, SendFn, SessionRunner

log = logging.getLogger("openenv.server")

EnvFactory = Callable[[], Environment]


class OpenEnvApp:
    """The ASGI application of one environment server."""

    def __init__(
        self,
        env: type[Environment] | EnvFactory,
        config: ServerConfig,
        *,
        env_class: type[Environment] | None = None,
    ) -> None:
        if isinstance(env, type):
            if not issubclass(env, Environment):
                raise TypeError(f"{env.__name__} is not an openenv.server.Environment subclass")
            env_class = env
        elif env_class is None:
            raise TypeError("pass env_class= when env is a factory function")
        self.factory: EnvFactory = env
        self.env_class: type[Environment] = env_class
        self.config = config
        self.active_sessions = 0
        self.is_mcp = issubclass(env_class, MCPEnvironment)  # steps are tool calls
        self.has_tools = bool(env_class.tool_specs())  # tools are served as JSON-RPC
        if self.is_mcp:
            assert issubclass(env_class, MCPEnvironment)
            actions: Any = Union[env_class.action_types]  # noqa: UP007 — a runtime union of the tool actions
        else:
            actions = env_class.action_type
        self.action_adapter_type: Any = actions
        self._action_adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(actions)
        self._validate_action = self._action_adapter.validate_json
        self.http = HttpEndpoints(self)
        self.named = SessionRegistry(config.idle_timeout_s, self._release_slot)
        shortest = min(config.step_timeout_s, config.idle_timeout_s)
        self.watchdog = Watchdog(resolution=min(0.25, max(0.01, shortest / 5)))

    # -- used by the endpoints -------------------------------------------------------------------
    def new_environment(self) -> Environment:
        """A fresh environment instance from the factory."""
        env = self.factory()
        if not isinstance(env, Environment):
            raise TypeError(f"the factory returned {type(env).__name__}, not an Environment")
        return env

    def host(self, env: Environment) -> EnvHost:
        """Wrap a new environment instance for serving (step timeout, watchdog)."""
        self.watchdog.ensure_running()
        return EnvHost(env, self.config.step_timeout_s, self.watchdog)

    def validate_action(self, data: dict[str, Any]) -> Any:
        """The action model for a step's `data`, validated strictly: JSON types must match the
        published schema, nothing is converted (`"2"` is not an integer; OE-GEN-015, OE-GEN-016).

        Raises:
            InvalidRequest: the action does not satisfy the action model (`loc` relative to it).
        """
        try:
            return self._validate_action(orjson.dumps(data), strict=True)
        except pydantic.ValidationError as exc:
            raise InvalidRequest.from_pydantic(exc) from None

    def action_schema(self) -> dict[str, Any]:
        return self._action_adapter.json_schema()

    def _release_slot(self) -> None:
        self.active_sessions -= 1

    def has_capacity(self) -> bool:
        return self.active_sessions < self.config.max_sessions

    def capacity_body(self) -> bytes:
        message = f"Server at capacity: {self.active_sessions}/{self.config.max_sessions} sessions active. Retry later."
        details = {
            "active_sessions": self.active_sessions,
            "max_sessions": self.config.max_sessions,
        }
        return encode_error(ErrorCode.CAPACITY_REACHED, message, details).encode()

    # -- ASGI --------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
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
        attach = b"session_id=" in (scope.get("query_string") or b"")
        if attach:
            try:
                await SessionRunner(self, scope, receive, send).run()
            except Exception:
                log.exception("session failed")
            return
        if not self.has_capacity():
            headers = [(b"retry-after", str(self.config.retry_after_s).encode())]
            await self._deny(scope, send, 503, self.capacity_body(), headers)
            return
        self.active_sessions += 1
        released = False

        def release() -> None:  # once; before the closing handshake completes (OE-LIM-014)
            nonlocal released
            if not released:
                released = True
                self.active_sessions -= 1

        try:
            await SessionRunner(self, scope, receive, send, release=release).run()
        except Exception:
            log.exception("session failed")
        finally:
            release()

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
                await self.named.close_all()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    env: type[Environment] | EnvFactory,
    *,
    name: str | None = None,
    env_class: type[Environment] | None = None,
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
        from openenv.manifest import load_manifest, server_settings

        settings = {**server_settings(load_manifest(Path(manifest))), **settings}
    resolved = name or settings.pop("name", None) or (cls.__name__ if cls is not None else "environment")
    return OpenEnvApp(env, ServerConfig(name=resolved, **settings), env_class=env_class)
