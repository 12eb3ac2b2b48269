"""0.10's `openenv.core.env_server.types`: the author-facing data models, on our runtime's types.

`Action`, `Observation` and `State` subclass `openenv.types`' models, so an environment written for
0.10 hands our runtime objects it serves directly (no copy per step). They keep 0.10's model
configuration (`extra="forbid"` / `"allow"`, `validate_assignment`, `arbitrary_types_allowed`).
Known differences, all stricter or additive: `Observation` also carries `terminated`/`truncated`
(never sent at the base level) and its `reward` must be a finite number (0.10 accepted NaN, then
failed to encode it). The envelope models (`WS*Message`, `SchemaResponse`, ...) have 0.10's fields.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openenv import types as _ours

__all__ = [
    "Action",
    "BaseMessage",
    "CodeExecResult",
    "ConcurrencyConfig",
    "EnvironmentMetadata",
    "GetTaskRangeRequest",
    "GetTaskRequest",
    "HealthResponse",
    "HealthStatus",
    "ListTasksRequest",
    "NumTasksRequest",
    "Observation",
    "ResetRequest",
    "ResetResponse",
    "SchemaResponse",
    "ServerCapacityStatus",
    "ServerMode",
    "SessionInfo",
    "State",
    "StepRequest",
    "StepResponse",
    "WSCloseMessage",
    "WSErrorCode",
    "WSErrorResponse",
    "WSIncomingMessage",
    "WSObservationResponse",
    "WSResetMessage",
    "WSStateMessage",
    "WSStateResponse",
    "WSStepMessage",
]

Scalar = int | float | bool


class ServerMode(str, Enum):  # noqa: UP042 — 0.10 mixes str into Enum (str() differs from StrEnum)
    """Server operation mode."""

    SIMULATION = "simulation"
    PRODUCTION = "production"


class HealthStatus(str, Enum):  # noqa: UP042 — 0.10 mixes str into Enum (str() differs from StrEnum)
    """Server health status values."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    DEGRADED = "degraded"


class WSErrorCode(str, Enum):  # noqa: UP042 — 0.10 mixes str into Enum (str() differs from StrEnum)
    """The base-level error codes of `error` frames."""

    INVALID_JSON = "INVALID_JSON"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    CAPACITY_REACHED = "CAPACITY_REACHED"
    FACTORY_ERROR = "FACTORY_ERROR"
    SESSION_ERROR = "SESSION_ERROR"


class Action(_ours.Action):
    """Base class of every action (unknown fields rejected, assignments validated)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True)


class Observation(_ours.Observation):
    """Base class of every observation: `done`, `reward`, `metadata` (plus our episode flags)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True)


class State(_ours.State):
    """Episode state: `episode_id`, `step_count` and any extra fields."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, arbitrary_types_allowed=True)


class BaseMessage(BaseModel):
    """Base class of the message models (unknown fields rejected)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ResetRequest(BaseModel):
    """Body of `POST /reset` (extra keys go to `reset(**kwargs)`)."""

    model_config = ConfigDict(extra="allow")

    seed: int | None = Field(default=None, ge=0)
    episode_id: str | None = Field(default=None, max_length=255)


class ResetResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: dict[str, Any]
    reward: float | None = None
    done: bool = False
    metadata: dict[str, Any] | None = None


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: dict[str, Any]
    timeout_s: float | None = Field(default=None, gt=0)
    request_id: str | None = Field(default=None, max_length=255)


class StepResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: dict[str, Any]
    reward: float | None = None
    done: bool = False
    metadata: dict[str, Any] | None = None


class CodeExecResult(BaseMessage):
    """Result of running code: stdout, stderr and the exit code."""

    stdout: str
    stderr: str
    exit_code: int


class EnvironmentMetadata(BaseMessage):
    """What `/metadata` reports about an environment."""

    name: str
    description: str
    readme_content: str | None = None
    version: str | None = None
    author: str | None = None
    documentation_url: str | None = None


class SchemaResponse(BaseMessage):
    action: dict[str, Any]
    observation: dict[str, Any]
    state: dict[str, Any]
    reset_observation: dict[str, Any] | None = None


class HealthResponse(BaseMessage):
    status: HealthStatus = HealthStatus.HEALTHY


class ListTasksRequest(BaseMessage):
    split: str


class NumTasksRequest(BaseMessage):
    split: str


class GetTaskRequest(BaseMessage):
    split: str
    index: int


class GetTaskRangeRequest(BaseMessage):
    split: str
    start: int | None = None
    stop: int | None = None


class WSResetMessage(BaseMessage):
    type: Literal["reset"] = "reset"
    data: dict[str, Any] = Field(default_factory=dict)


class WSStepMessage(BaseMessage):
    type: Literal["step"] = "step"
    data: dict[str, Any]


class WSStateMessage(BaseMessage):
    type: Literal["state"] = "state"


class WSCloseMessage(BaseMessage):
    type: Literal["close"] = "close"


WSIncomingMessage = Union[WSResetMessage, WSStepMessage, WSStateMessage, WSCloseMessage]  # noqa: UP007 — 0.10 exports a typing.Union


class WSObservationResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["observation"] = "observation"
    data: dict[str, Any]


class WSStateResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["state"] = "state"
    data: dict[str, Any]


class WSErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["error"] = "error"
    data: dict[str, Any]


class ConcurrencyConfig(BaseMessage):
    """How many sessions a server runs at once (and an idle timeout, in seconds)."""

    max_concurrent_envs: int = Field(default=1, ge=1)
    session_timeout: float | None = Field(default=None, gt=0)


class ServerCapacityStatus(BaseMessage):
    active_sessions: int = Field(ge=0)
    max_sessions: int = Field(ge=1)

    @model_validator(mode="after")
    def check_capacity_bounds(self) -> ServerCapacityStatus:
        if self.active_sessions > self.max_sessions:
            raise ValueError(
                f"active_sessions ({self.active_sessions}) cannot exceed max_sessions ({self.max_sessions})"
            )
        return self

    @property
    def available_slots(self) -> int:
        return max(0, self.max_sessions - self.active_sessions)

    @property
    def is_at_capacity(self) -> bool:
        return self.active_sessions >= self.max_sessions

    @classmethod
    def from_counts(cls, active: int, max_sessions: int) -> ServerCapacityStatus:
        return cls(active_sessions=active, max_sessions=max_sessions)


class SessionInfo(BaseMessage):
    session_id: str
    created_at: float
    last_activity_at: float
    step_count: int = 0
    environment_type: str
