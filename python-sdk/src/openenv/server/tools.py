"""MCP tools as environment methods: the `@tool` decorator and `MCPEnvironment`.

An `MCPEnvironment` exposes its `@tool` methods three ways: as `CallToolAction`/`ListToolsAction`
steps on `/ws` (a tool failure is an observation with `error`, not a protocol error), as JSON-RPC
`tools/list` / `tools/call` in `mcp` frames, and on `POST /mcp`. A tool's input schema comes from
its signature; arguments are validated against it before the method runs.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import pydantic

from openenv.server.environment import Environment
from openenv.types import (
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Observation,
    State,
    Tool,
    ToolError,
)

F = TypeVar("F", bound=Callable[..., Any])
_TOOL_ATTR = "__openenv_tool__"


def tool(fn: F) -> F:
    """Mark an environment method as an MCP tool (its docstring's first line is the description)."""
    setattr(fn, _TOOL_ATTR, True)
    return fn


@dataclass(slots=True, frozen=True)
class ToolSpec:
    """One tool: its name, description, argument model and JSON Schema."""

    name: str
    description: str
    arguments: type[pydantic.BaseModel]
    input_schema: dict[str, Any]

    def as_openenv(self) -> Tool:
        return Tool(name=self.name, description=self.description, input_schema=self.input_schema)

    def as_mcp(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }


def _spec_for(name: str, fn: Callable[..., Any]) -> ToolSpec:
    fields: dict[str, Any] = {}
    hints = inspect.get_annotations(fn, eval_str=True)
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "self":
            continue
        annotation = hints.get(pname, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, default)
    model = pydantic.create_model(f"{name}_arguments", __config__=pydantic.ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    description = (inspect.getdoc(fn) or "").strip().split("\n\n")[0].replace("\n", " ")
    return ToolSpec(name, description, model, schema)


class ToolCallFailed(Exception):
    """A tool call that did not run: unknown tool or invalid arguments."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def tool_result(value: Any) -> dict[str, Any]:
    """A tool's return value as a call result: text content, structured content and raw data."""
    if isinstance(value, str):
        text, structured = value, {"result": value}
    else:
        text = json.dumps(value, separators=(",", ":"), default=str)
        structured = value if isinstance(value, dict) else {"result": value}
    return {
        "content": [{"type": "text", "text": text}],
        "structured_content": structured,
        "data": value,
        "is_error": False,
    }


class MCPEnvironment(Environment):
    """An environment driven by MCP tools. Subclass it and decorate methods with `@tool`."""

    action_type = CallToolAction  # ListToolsAction is accepted too (see `action_types`)
    observation_type = CallToolObservation
    reset_observation_type: ClassVar[type[Observation] | None] = Observation
    action_types: ClassVar[tuple[type[pydantic.BaseModel], ...]] = (CallToolAction, ListToolsAction)
    _tool_specs: ClassVar[dict[str, ToolSpec]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, ToolSpec] = {}
        for name in dir(cls):
            member = getattr(cls, name, None)
            if callable(member) and getattr(member, _TOOL_ATTR, False):
                specs[name] = _spec_for(name, member)
        cls._tool_specs = specs

    @classmethod
    def tool_specs(cls) -> list[ToolSpec]:
        """The tools, sorted by name."""
        return [cls._tool_specs[name] for name in sorted(cls._tool_specs)]

    @classmethod
    def find_tool(cls, name: str, arguments: dict[str, Any]) -> tuple[ToolSpec, dict[str, Any]]:
        """The tool and its validated arguments.

        Raises:
            ToolCallFailed: unknown tool (`tool_not_found`) or bad arguments (`invalid_args`).
        """
        spec = cls._tool_specs.get(name)
        if spec is None:
            raise ToolCallFailed("tool_not_found", f"Unknown tool: {name!r}")
        try:
            parsed = spec.arguments.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolCallFailed("invalid_args", f"invalid arguments for {name}: {problems}") from None
        return spec, {k: getattr(parsed, k) for k in type(parsed).model_fields}

    def __init__(self) -> None:
        self.episode_id: str | None = None
        self.step_count = 0

    def ready_metadata(self) -> dict[str, Any]:
        """Metadata of the reset observation; override to describe the episode."""
        return {}

    async def reset(  # type: ignore[override]
        self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any
    ) -> Observation:
        """Start an episode: a fresh id (or the one given) and a zero step count."""
        self.episode_id = episode_id or str(uuid.uuid4())
        self.step_count = 0
        return Observation(metadata=self.ready_metadata())

    async def state(self) -> State:  # type: ignore[override]
        return State(episode_id=self.episode_id, step_count=self.step_count)

    def step(self, action: Any) -> Observation:
        """Tool actions are dispatched by the server runtime (`openenv.server.mcp`)."""
        raise NotImplementedError("MCPEnvironment steps are served by the runtime")


def list_tools_observation(cls: type[MCPEnvironment]) -> ListToolsObservation:
    return ListToolsObservation(tools=[spec.as_openenv() for spec in cls.tool_specs()])


def failed_call_observation(name: str, failure: ToolCallFailed) -> CallToolObservation:
    return CallToolObservation(tool_name=name, error=ToolError(error_type=failure.error_type, message=failure.message))
