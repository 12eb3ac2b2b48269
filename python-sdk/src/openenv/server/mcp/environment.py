"""`MCPEnvironment`: an environment whose steps are MCP tool calls.

It takes `CallToolAction`/`ListToolsAction` as step actions (a tool failure is an observation with
`error`, not a protocol error); its `@tool` methods are also served as JSON-RPC like any
environment's tools. The episode bookkeeping is the runtime's, as for every environment.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pydantic

from openenv.server.environment import Environment
from openenv.server.faults import ToolCallFailed
from openenv.server.host import EnvHost
from openenv.server.tools import tool, tool_result
from openenv.types import (
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Observation,
    State,
    ToolError,
)

__all__ = ["MCPEnvironment", "run_tool_action", "tool"]


class MCPEnvironment(Environment[CallToolAction, CallToolObservation, State]):
    """An environment driven by MCP tools. Subclass it and decorate methods with `@tool`."""

    action_type = CallToolAction  # ListToolsAction is accepted too (see `action_types`)
    observation_type = CallToolObservation
    reset_observation_type: ClassVar[type[Observation] | None] = Observation
    action_types: ClassVar[tuple[type[pydantic.BaseModel], ...]] = (CallToolAction, ListToolsAction)

    def ready_metadata(self) -> dict[str, Any]:
        """Metadata of the reset observation; override to describe the episode."""
        return {}

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        """Start an episode (the runtime records its id and resets its step count)."""
        return Observation(metadata=self.ready_metadata())

    def step(self, action: CallToolAction) -> CallToolObservation:
        """Tool actions are dispatched by the server runtime (`run_tool_action`)."""
        raise NotImplementedError("MCPEnvironment steps are served by the runtime")


def list_tools_observation(cls: type[MCPEnvironment]) -> ListToolsObservation:
    return ListToolsObservation(tools=[spec.as_openenv() for spec in cls.tool_specs()])


def failed_call_observation(name: str, failure: ToolCallFailed) -> CallToolObservation:
    return CallToolObservation(tool_name=name, error=ToolError(error_type=failure.error_type, message=failure.message))


async def run_tool_action(host: EnvHost, action: Any) -> Observation:
    """Serve a `CallToolAction` / `ListToolsAction` step on an `MCPEnvironment`."""
    env = host.env
    assert isinstance(env, MCPEnvironment)
    if isinstance(action, ListToolsAction):
        return list_tools_observation(type(env))
    assert isinstance(action, CallToolAction)
    try:
        spec, kwargs = type(env).find_tool(action.tool_name, action.arguments)
    except ToolCallFailed as failure:
        return failed_call_observation(action.tool_name, failure)
    value = await host.invoke(spec.name, **kwargs)
    return CallToolObservation(tool_name=spec.name, result=tool_result(value))
