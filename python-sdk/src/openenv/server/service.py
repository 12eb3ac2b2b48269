"""`EnvService`: what every surface of one server shares, with no ASGI and no sockets.

It owns the environment factory and class facts (MCP or not, tools or not, its taskset and
trajectory record, and what `/metadata` declares of them), action validation, the action and state
schemas, session capacity (`Capacity`, the only session count), the named-session registry and the
watchdog. The surfaces — HTTP (`http`), `/ws` (`websocket`, `uvicorn_ws`), MCP
(`mcp.jsonrpc`) and OpenAPI (`openapi`) — depend on it; it depends on none of them, and the ASGI
router (`app`) sits on top of them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Union

import orjson
import pydantic

from openenv.protocol import ErrorCode
from openenv.protocol.frames import encode_error
from openenv.server.capacity import Capacity
from openenv.server.config import ServerConfig
from openenv.server.environment import Environment
from openenv.server.faults import InvalidRequest
from openenv.server.host import EnvHost
from openenv.server.mcp.environment import MCPEnvironment
from openenv.server.registry import SessionRegistry
from openenv.server.watchdog import Watchdog
from openenv.tasks import Taskset

EnvFactory = Callable[[], Environment[Any, Any, Any]]


class EnvService:
    """The runtime of one environment server, shared by its surfaces."""

    def __init__(
        self,
        env: type[Environment[Any, Any, Any]] | EnvFactory,
        config: ServerConfig,
        *,
        env_class: type[Environment[Any, Any, Any]] | None = None,
    ) -> None:
        if isinstance(env, type):
            if not issubclass(env, Environment):
                raise TypeError(f"{env.__name__} is not an openenv.server.Environment subclass")
            env_class = env
        elif env_class is None:
            raise TypeError("pass env_class= when env is a factory function")
        self.factory: EnvFactory = env
        self.env_class: type[Environment[Any, Any, Any]] = env_class
        self.is_mcp = issubclass(env_class, MCPEnvironment)  # steps are tool calls
        self.has_tools = bool(env_class.tool_specs())  # tools are served as JSON-RPC
        if issubclass(env_class, MCPEnvironment):
            actions: Any = Union[env_class.action_types]  # noqa: UP007 — a runtime union of the tool actions
        else:
            actions = env_class.action_type
        self.action_model: Any = actions
        self._action_adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(actions)
        self._validate_action = self._action_adapter.validate_json
        self.validate_base_action: Callable[[dict[str, Any]], Any] = self.validate_action
        self.taskset: Taskset | None = env_class.taskset
        self.trajectory_max_steps: int | None = env_class.trajectory_max_steps
        self.config = config
        self.capacity = Capacity(config.max_sessions)
        self.named = SessionRegistry(config.idle_timeout_s)
        self.watchdog = Watchdog(resolution=_resolution(config))
        self._bind_base_validation()

    def reconfigure(self, **settings: Any) -> None:
        """Replace `ServerConfig` fields before serving (raises `ValueError` for invalid values)."""
        config = dataclasses.replace(self.config, **settings)
        self.config = config
        self.capacity.maximum = config.max_sessions
        self.named.idle_timeout_s = config.idle_timeout_s
        self.watchdog.resolution = _resolution(config)
        self._bind_base_validation()

    # -- environments ------------------------------------------------------------------------------
    def new_environment(self) -> Environment[Any, Any, Any]:
        """A fresh environment instance from the factory."""
        env = self.factory()
        if not isinstance(env, Environment):
            raise TypeError(f"the factory returned {type(env).__name__}, not an Environment")
        return env

    def host(self, env: Environment[Any, Any, Any]) -> EnvHost:
        """Wrap a new environment instance for serving (step timeout, watchdog)."""
        self.watchdog.ensure_running()
        return EnvHost(env, self.config.step_timeout_s, self.watchdog, max_message_bytes=self.config.max_message_bytes)

    def open_host(self) -> EnvHost:
        """A fresh environment instance, hosted (raises whatever the factory raises)."""
        return self.host(self.new_environment())

    # -- actions -----------------------------------------------------------------------------------
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

    def _bind_base_validation(self) -> None:
        """`validate_base_action`: the strict `validate_action` itself, or the lax one when the
        config asks for 0.10's typing at the base level (chosen once: no per-step test)."""
        lax = self.config.lax_base_typing
        self.validate_base_action = self._validate_action_lax if lax else self.validate_action

    def _validate_action_lax(self, data: dict[str, Any]) -> Any:
        """The action model for a base-level step's `data` as 0.10 validates it: pydantic's lax
        mode on the parsed JSON (`"2"` for an integer becomes 2; OE-GEN-016 allows it).

        Raises:
            InvalidRequest: the action does not satisfy the action model even so.
        """
        try:
            return self._action_adapter.validate_python(data, strict=False)
        except pydantic.ValidationError as exc:
            raise InvalidRequest.from_pydantic(exc) from None

    def base_reset_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """An HTTP `reset` body as 0.10 reads it under `lax_base_typing`: a `seed` given as an
        integer string or an integral float becomes the integer (0.10's `ResetRequest`); the body
        unchanged otherwise, and always for strict apps."""
        seed = data.get("seed")
        if not self.config.lax_base_typing or seed is None or type(seed) is int:
            return data
        try:
            coerced = _LAX_SEED.validate_python(seed)
        except pydantic.ValidationError:
            return data  # reset_kwargs refuses it with the usual message
        return {**data, "seed": coerced}

    def action_schema(self) -> dict[str, Any]:
        """The JSON Schema of the actions `step` accepts."""
        return self._action_adapter.json_schema()

    def state_schema(self, **options: Any) -> dict[str, Any]:
        """The JSON Schema of `state` replies: the state model's, plus the runtime's `trajectory`
        member when the environment records its episodes (`options` go to `model_json_schema`)."""
        schema = self.env_class.state_type.model_json_schema(**options)
        if self.trajectory_max_steps is not None:
            schema.setdefault("properties", {})["trajectory"] = recorded_trajectory_schema(self.trajectory_max_steps)
        return schema

    # -- declarations ------------------------------------------------------------------------------
    def declarations(self) -> tuple[dict[str, bool], dict[str, Any]]:
        """What `/metadata` declares beyond the basics: capability flags (`tasks`, `trajectory`) and
        the members that describe them (`taskset`, `trajectory`), OE-TASK-008 and OE-RWD-009."""
        flags: dict[str, bool] = {"tasks": self.config.tasks or self.taskset is not None}
        members: dict[str, Any] = {}
        if self.taskset is not None:
            taskset = self.taskset
            splits = [{"name": name, "num_tasks": len(taskset.tasks(name))} for name in taskset.splits()]
            members["taskset"] = {"num_tasks": len(taskset), "splits": splits}
        if self.trajectory_max_steps is not None:
            flags["trajectory"] = True
            members["trajectory"] = {"max_steps": self.trajectory_max_steps}
        return flags, members

    # -- capacity ----------------------------------------------------------------------------------
    def capacity_body(self) -> bytes:
        """The `CAPACITY_REACHED` error frame sent as the body of a refused upgrade (OE-LIM-011)."""
        capacity = self.capacity
        message = f"Server at capacity: {capacity.active}/{capacity.maximum} sessions active. Retry later."
        details = {"active_sessions": capacity.active, "max_sessions": capacity.maximum}
        return encode_error(ErrorCode.CAPACITY_REACHED, message, details).encode()

    def retry_after(self) -> list[tuple[bytes, bytes]]:
        """The `Retry-After` header of a capacity refusal."""
        return [(b"retry-after", str(self.config.retry_after_s).encode())]

    async def shutdown(self) -> None:
        """Close every named session (the server is stopping)."""
        await self.named.close_all()


_LAX_SEED: pydantic.TypeAdapter[int] = pydantic.TypeAdapter(int)


def recorded_trajectory_schema(max_steps: int) -> dict[str, Any]:
    """`schemas/RecordedTrajectory.schema.json` for a record bounded by `max_steps`, inline."""
    step = {
        "type": "object",
        "required": ["action", "observation", "reward"],
        "additionalProperties": False,
        "properties": {
            "action": {"type": "object"},
            "observation": {"type": "object"},
            "reward": {"type": ["number", "null"]},
        },
    }
    return {
        "title": "RecordedTrajectory",
        "type": "object",
        "required": ["steps", "max_steps", "dropped"],
        "additionalProperties": False,
        "properties": {
            "steps": {"type": "array", "maxItems": max_steps, "items": step},
            "max_steps": {"const": max_steps},
            "dropped": {"type": "integer", "minimum": 0},
        },
    }


def _resolution(config: ServerConfig) -> float:
    shortest = min(config.step_timeout_s, config.idle_timeout_s)
    return min(0.25, max(0.01, shortest / 5))
