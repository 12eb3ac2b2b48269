"""Public data types: actions, observations, state, step results and the MCP tool actions.

These are what environment authors subclass and what clients return. Their wire form is fixed by
`schemas/` (the observation envelope, the `state` frame, the MCP tool actions); the SDK's tests check
them against the schema examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Action",
    "CallToolAction",
    "CallToolObservation",
    "ListToolsAction",
    "ListToolsObservation",
    "Observation",
    "State",
    "StepResult",
    "Tool",
    "ToolError",
]

ObsT = TypeVar("ObsT")


class Action(BaseModel):
    """Base class of every action. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form action metadata.")


class Observation(BaseModel):
    """Base class of every observation.

    Set `terminated` when the episode reached a terminal state of the task, `truncated` when it was
    cut short (step limit, time limit); `done` is derived as `terminated or truncated` on the wire
    (setting only `done=True` counts as terminated). `reward` is a finite number or None.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    done: bool = False
    terminated: bool = False
    truncated: bool = False
    reward: Annotated[float, Field(allow_inf_nan=False)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def episode_flags(self) -> tuple[bool, bool]:
        """(terminated, truncated) as sent on the wire."""
        terminated = self.terminated or (self.done and not self.truncated)
        return terminated, self.truncated


class State(BaseModel):
    """Episode state as returned by `state()`; environments may add fields."""

    model_config = ConfigDict(extra="allow")

    episode_id: str | None = None
    step_count: int = Field(default=0, ge=0)


@dataclass(slots=True)
class StepResult(Generic[ObsT]):
    """What `reset()` and `step()` return on the client side."""

    observation: ObsT
    reward: float | None = None
    done: bool = False
    terminated: bool = False
    truncated: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> dict[str, Any]:
        """Gymnasium-style alias of `metadata`."""
        return self.metadata


class CallToolAction(Action):
    """Call one MCP tool of the environment."""

    type: Literal["call_tool"] = "call_tool"
    tool_name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ListToolsAction(Action):
    """List the environment's MCP tools."""

    type: Literal["list_tools"] = "list_tools"


class Tool(BaseModel):
    """An MCP tool as listed by `ListToolsAction`."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict)


class ToolError(BaseModel):
    """Why a tool call failed (a tool failure is an observation, not a protocol error)."""

    model_config = ConfigDict(extra="allow")

    error_type: str
    message: str


class CallToolObservation(Observation):
    """The outcome of a `CallToolAction`."""

    tool_name: str
    result: Any = None
    error: ToolError | None = None


class ListToolsObservation(Observation):
    """The outcome of a `ListToolsAction`."""

    tools: list[Tool] = Field(default_factory=list)
