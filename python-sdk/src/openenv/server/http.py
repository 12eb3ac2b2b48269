"""The HTTP surface: `/health`, `/metadata`, `/schema`, stateless `/reset` `/step` `/state`, `/mcp`.

`/reset`, `/step` and `/state` are stateless as in 0.10: each request gets a fresh environment that
is closed afterwards (`/step` resets it first, with no arguments). Bodies larger than the message
limit get 413; malformed bodies 422 with a `detail` list; environment failures 500 with a JSON
`detail` (via `faults.to_wire`). JSON-RPC notifications on `/mcp` get 202 and no body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from pydantic import TypeAdapter

from openenv.errors import ServerError
from openenv.protocol import SUBPROTOCOL_V1
from openenv.protocol.codes import is_finite_number
from openenv.server.asgi import Receive, Scope, SendFn
from openenv.server.faults import InvalidRequest, StepTimedOut, to_wire
from openenv.server.host import EnvHost, wire_observation
from openenv.server.mcp.environment import run_tool_action
from openenv.server.mcp.jsonrpc import (
    MCP_HANDSHAKE_VERSIONS,
    PARSE_ERROR,
    VERSION_HEADER,
    McpDispatcher,
    http_headers,
    http_status,
    rpc_error,
)
from openenv.server.openapi import openapi_document
from openenv.server.service import EnvService
from openenv.types import CallToolObservation, ListToolsObservation, Observation

JSON = [(b"content-type", b"application/json")]


class HttpError(ServerError):
    """An HTTP error reply: `{"detail": …}` unless a whole `body` is given."""

    def __init__(
        self,
        status: int,
        detail: Any,
        headers: list[tuple[bytes, bytes]] | None = None,
        *,
        body: dict[str, Any] | None = None,
    ):
        super().__init__(str(detail))
        self.status = status
        self.body = body if body is not None else {"detail": detail}
        self.headers = headers or []


def http_response(obs: Observation) -> dict[str, Any]:
    """The body of a 200 reply to `/reset` or `/step` (a non-finite reward is a failure, OE-HTTP-016)."""
    reward = obs.reward
    if reward is not None and not is_finite_number(reward):
        raise ValueError(f"the environment produced a non-finite reward ({reward})")
    terminated, truncated = obs.episode_flags
    return {
        "observation": wire_observation(obs),
        "reward": reward,
        "done": terminated or truncated,
        "metadata": obs.metadata or None,
    }


def _check_step_options(data: dict[str, Any]) -> None:
    """`timeout_s` (number > 0) and `request_id` (string of at most 255 characters), OE-HTTP-014."""
    problems = []
    timeout = data.get("timeout_s")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0):
        problems.append(
            {
                "type": "greater_than",
                "loc": ["body", "timeout_s"],
                "msg": "Input should be a number greater than 0",
                "input": timeout,
            }
        )
    request_id = data.get("request_id")
    if request_id is not None and (not isinstance(request_id, str) or len(request_id) > 255):
        problems.append(
            {
                "type": "string_type",
                "loc": ["body", "request_id"],
                "msg": "Input should be a string of at most 255 characters",
                "input": request_id,
            }
        )
    if problems:
        raise HttpError(422, problems)


class HttpEndpoints:
    """Routes and serves the HTTP requests of one server."""

    def __init__(self, service: EnvService) -> None:
        self.service = service
        self.routes: dict[str, dict[str, Callable[[bytes], Awaitable[tuple[int, Any]]]]] = {
            "/health": {"GET": self.health},
            "/metadata": {"GET": self.metadata},
            "/schema": {"GET": self.schema},
            "/reset": {"POST": self.reset},
            "/step": {"POST": self.step},
            "/state": {"GET": self.state},
            "/mcp": {"POST": self.mcp},
            "/openapi.json": {"GET": self.openapi},
        }
        self._openapi: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        headers: list[tuple[bytes, bytes]] = []
        try:
            methods = self.routes.get(scope["path"])
            if methods is None:
                raise HttpError(404, "Not Found")
            handler = methods.get(scope["method"])
            if handler is None:
                raise HttpError(405, "Method Not Allowed", [(b"allow", ", ".join(methods).encode())])
            body = await self._read_body(receive)
            if handler == self.mcp:  # the one route that reads headers (MCP's routing headers)
                status, payload = await self.mcp(body, scope["headers"])
            else:
                status, payload = await handler(body)
        except HttpError as exc:
            status, payload, headers = exc.status, exc.body, exc.headers
        if status == 202:
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        content = orjson.dumps(payload)
        await send({"type": "http.response.start", "status": status, "headers": [*JSON, *headers]})
        await send({"type": "http.response.body", "body": content})

    async def _read_body(self, receive: Receive) -> bytes:
        limit = self.service.config.max_message_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HttpError(400, "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    def _json_object(body: bytes, *, optional: bool) -> dict[str, Any]:
        if not body.strip():
            if optional:
                return {}
            raise HttpError(422, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(
                422,
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body"],
                        "msg": f"JSON decode error: {exc}",
                        "input": None,
                    }
                ],
            ) from None
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise HttpError(
                422,
                [
                    {
                        "type": "dict_type",
                        "loc": ["body"],
                        "msg": "Input should be an object",
                        "input": value,
                    }
                ],
            )
        return value

    # -- discovery ---------------------------------------------------------------------------------
    async def health(self, body: bytes) -> tuple[int, Any]:
        capacity = self.service.capacity
        return 200, {
            "status": "healthy",
            "active_sessions": capacity.active,
            "max_sessions": capacity.maximum,
        }

    async def metadata(self, body: bytes) -> tuple[int, Any]:
        service = self.service
        config = service.config
        cls = service.env_class
        description = config.description or cls.description or (cls.__doc__ or "").strip().split("\n")[0]
        flags, members = service.declarations()  # taskset and trajectory record (OE-TASK-008, OE-RWD-009)
        capabilities: dict[str, bool] = {"mcp": service.has_tools, "http_simulation": True, **flags}
        if not cls.deterministic:  # absent means seedable (OE-HTTP-028)
            capabilities["deterministic"] = False
        return 200, {
            "name": config.name,
            "description": description or f"{config.name} environment",
            "readme_content": None,
            "version": config.version,
            "author": None,
            "documentation_url": None,
            "protocols": [SUBPROTOCOL_V1] if config.v1 else [],
            "limits": config.limits(),
            "capabilities": capabilities,
            **members,
        }

    async def openapi(self, body: bytes) -> tuple[int, Any]:
        if self._openapi is None:
            self._openapi = openapi_document(self.service)
        return 200, self._openapi

    async def schema(self, body: bytes) -> tuple[int, Any]:
        cls = self.service.env_class
        reset_cls = cls.reset_observation_type
        observation = cls.observation_type.model_json_schema()
        if self.service.is_mcp:  # tool steps answer with either observation (OE-HTTP-006)
            observation = TypeAdapter(CallToolObservation | ListToolsObservation).json_schema()
            reset_cls = reset_cls or Observation
        return 200, {
            "action": self.service.action_schema(),
            "observation": observation,
            "state": self.service.state_schema(),
            "reset_observation": reset_cls.model_json_schema() if reset_cls else None,
        }

    # -- stateless simulation ------------------------------------------------------------------------
    async def _with_env(self, run: Callable[[EnvHost], Awaitable[tuple[int, Any]]], op: str) -> tuple[int, Any]:
        service = self.service
        slot = service.capacity.acquire()
        if slot is None:
            raise HttpError(503, "server at capacity", service.retry_after())
        host: EnvHost | None = None
        try:
            try:
                host = service.open_host()
            except Exception as exc:
                raise HttpError(500, to_wire(exc, "factory").message) from None
            return await run(host)
        except StepTimedOut:
            if host is not None:
                host.close_later()
                host = None
            raise HttpError(504, f"{op} exceeded the step timeout of {service.config.step_timeout_s:g} s") from None
        except InvalidRequest as exc:
            raise HttpError(422, exc.located(["body"])) from None
        except HttpError:
            raise
        except Exception as exc:
            wire = to_wire(exc, op)
            raise HttpError(
                500,
                None,
                body={"type": "error", "data": {"message": wire.message, "code": wire.code.value}},
            ) from None
        finally:
            if host is not None:
                await host.close()
            slot.release()

    async def reset(self, body: bytes) -> tuple[int, Any]:
        data = self._json_object(body, optional=True)

        async def run(host: EnvHost) -> tuple[int, Any]:
            obs = await host.reset(host.reset_kwargs(self.service.base_reset_data(data), strict=False))
            return 200, http_response(obs)

        return await self._with_env(run, "reset")

    async def step(self, body: bytes) -> tuple[int, Any]:
        data = self._json_object(body, optional=False)
        _check_step_options(data)
        raw_action = data.get("action")
        if not isinstance(raw_action, dict):
            kind = "missing" if "action" not in data else "dict_type"
            raise HttpError(
                422,
                [
                    {
                        "type": kind,
                        "loc": ["body", "action"],
                        "msg": "Field required" if kind == "missing" else "Input should be an object",
                        "input": raw_action,
                    }
                ],
            )
        try:
            action = self.service.validate_base_action(raw_action)
        except InvalidRequest as exc:
            raise HttpError(422, exc.located(["body", "action"])) from None

        async def run(host: EnvHost) -> tuple[int, Any]:
            await host.reset({})
            if self.service.is_mcp:
                obs = await run_tool_action(host, action)
            else:
                obs = await host.step(action)
            return 200, http_response(obs)

        return await self._with_env(run, "step")

    async def state(self, body: bytes) -> tuple[int, Any]:
        async def run(host: EnvHost) -> tuple[int, Any]:  # a fresh instance: no episode (OE-GEN-012)
            return 200, host.ledger.stamp(await host.state())

        return await self._with_env(run, "state")

    async def mcp(self, body: bytes, raw_headers: Sequence[tuple[bytes, bytes]] = ()) -> tuple[int, Any]:
        headers = http_headers(raw_headers)
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            modern = headers.get(VERSION_HEADER, MCP_HANDSHAKE_VERSIONS[0]) not in MCP_HANDSHAKE_VERSIONS
            return (400 if modern else 200), rpc_error(None, PARSE_ERROR, "Parse error")
        response, modern = await McpDispatcher(None, self.service).answer(message, headers)
        return http_status(response, modern), response
