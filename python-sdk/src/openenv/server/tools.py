"""`MCPEnvironment`: an environment whose steps are MCP tool calls.

It takes `CallToolAction`/`ListToolsAction` as step actions (a tool failure is an observation with
`error`, not a protocol error) and keeps the episode bookkeeping (`episode_id`, `step_count`); its
`@tool` methods are also served as JSON-RPC like any environment's tools.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import pydantic

from openenv.server.environment import Environment
from openenv.server.toolspec import ToolCallFailed, tool
from openenv.types import (
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Observation,
    State,
    ToolError,
)

__all__ = ["MCPEnvironment", "tool"]


class MCPEnvironment(Environment):
    """An environment driven by MCP tools. Subclass it and decorate methods with `@tool`."""

    action_type = CallToolAction  # ListToolsAction is accepted too (see `action_types`)
    observation_type = CallToolObservation
    reset_observation_type: ClassVar[type[Observation] | None] = Observation
    action_types: ClassVar[tuple[type[pydantic.BaseModel], ...]] = (CallToolAction, ListToolsAction)

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
