"""Tools as methods: the `@tool` decorator, tool specs and results (no environment knowledge).

A tool's input schema comes from its signature; arguments are validated against it before the
method runs. Any `Environment` may have tools: they are served as JSON-RPC `tools/list` /
`tools/call` (`mcp` frames on `/ws`, `POST /mcp`); an `MCPEnvironment` also takes them as steps.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from openenv.server.faults import ToolCallFailed
from openenv.types import Tool

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


def collect_tools(cls: type) -> dict[str, ToolSpec]:
    """The `@tool` methods of `cls` (inherited ones included), by name."""
    specs: dict[str, ToolSpec] = {}
    for name in dir(cls):
        member = getattr(cls, name, None)
        if callable(member) and getattr(member, _TOOL_ATTR, False):
            specs[name] = _spec_for(name, member)
    return specs


def validated_arguments(spec: ToolSpec, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """`arguments` checked against the tool's signature (raises `ToolCallFailed`)."""
    try:
        parsed = spec.arguments.model_validate(arguments)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}" for e in exc.errors())
        raise ToolCallFailed("invalid_args", f"invalid arguments for {name}: {problems}") from None
    return {k: getattr(parsed, k) for k in type(parsed).model_fields}
