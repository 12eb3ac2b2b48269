"""What the async and sync clients share, with no I/O: settings, URLs, actions and results.

`EnvClient` (async) and `SyncEnvClient` (sync) only move frames; building requests, matching
replies (`openenv.protocol.client.ClientSession`) and turning replies into `StepResult`s happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pydantic

from openenv.errors import InvalidActionError
from openenv.protocol import SUBPROTOCOL_V1
from openenv.protocol.client import Outcome, parse_observation
from openenv.protocol.codes import Mode
from openenv.types import Observation, State, StepResult

ObsT = TypeVar("ObsT")
ProtocolChoice = Literal["auto", "v1", "base"]

DEFAULT_MAX_MESSAGE_BYTES = 100 * 1024 * 1024


@dataclass(slots=True, frozen=True)
class ClientSettings:
    """Connection settings shared by the async and sync clients.

    Attributes:
        base_url: `http(s)://host:port` (or `ws(s)://…`) of the server.
        timeout_s: bound on waiting for any one reply.
        connect_timeout_s: bound on opening the connection (TCP + handshake).
        max_message_bytes: largest server frame accepted.
        protocol: `auto` offers `openenv.v1` and accepts the base level; `v1` requires it;
            `base` never offers it.
        headers: extra handshake headers.
    """

    base_url: str
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    protocol: ProtocolChoice = "auto"
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.protocol not in ("auto", "v1", "base"):
            raise ValueError(f"protocol must be 'auto', 'v1' or 'base', not {self.protocol!r}")

    @property
    def ws_url(self) -> str:
        return ws_url(self.base_url)

    @property
    def subprotocols(self) -> list[str] | None:
        return None if self.protocol == "base" else [SUBPROTOCOL_V1]


def ws_url(base_url: str) -> str:
    """`http(s)://h:p[/prefix]` → `ws(s)://h:p[/prefix]/ws`; a bare `h:p` gets `ws://`."""
    if "://" not in base_url:
        base_url = "http://" + base_url
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"unsupported URL scheme in {base_url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/ws"):
        path += "/ws"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def action_payload(action: Any) -> dict[str, Any]:
    """The `data` object of a `step` frame for a pydantic action or a plain dict."""
    if isinstance(action, pydantic.BaseModel):
        payload = action.model_dump(mode="json")
        if not payload.get("metadata"):
            payload.pop("metadata", None)
        return payload
    if isinstance(action, dict):
        return action
    raise InvalidActionError(f"an action must be a pydantic model or a dict, not {type(action).__name__}")


class ResultParser(Generic[ObsT]):
    """Turns reply data into typed results for one observation type (None → plain dicts)."""

    def __init__(self, observation_type: type[Observation] | None, state_type: type[State] | None):
        self.observation_type = observation_type
        self.state_type = state_type

    def step_result(self, outcome: Outcome, mode: Mode) -> StepResult[ObsT]:
        step = parse_observation(outcome.data, mode)
        observation: Any = step.observation
        if self.observation_type is not None:
            observation = self.observation_type.model_validate(
                {
                    **step.observation,
                    "reward": step.reward,
                    "done": step.done,
                    "terminated": step.terminated,
                    "truncated": step.truncated,
                }
            )
        return StepResult(
            observation=observation,
            reward=step.reward,
            done=step.done,
            terminated=step.terminated,
            truncated=step.truncated,
            metadata=step.metadata,
        )

    def state(self, outcome: Outcome) -> Any:
        if self.state_type is None:
            return State.model_validate(outcome.data)
        return self.state_type.model_validate(outcome.data)
