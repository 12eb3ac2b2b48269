"""What the async and sync clients share, with no I/O: settings, URLs, actions and results.

`EnvClient` (async) and `SyncEnvClient` (sync) only move frames; building requests, matching
replies (`openenv.protocol.client.ClientSession`) and turning replies into `StepResult`s happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pydantic

from openenv.errors import InvalidActionError, RemoteProtocolError, SessionLostError
from openenv.protocol import SUBPROTOCOL_V1
from openenv.protocol.client import ClientSession, Outcome, parse_observation
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


def reset_data(seed: int | None, episode_id: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a `reset` frame."""
    data = dict(kwargs)
    if seed is not None:
        data["seed"] = seed
    if episode_id is not None:
        data["episode_id"] = episode_id
    return data


def rpc_request(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A JSON-RPC request for an `mcp` frame (replies come in order, so one id suffices)."""
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}


def rpc_result(method: str, reply: dict[str, Any]) -> dict[str, Any]:
    """The `result` of a JSON-RPC reply; a JSON-RPC `error` raises `RemoteProtocolError`."""
    if "error" in reply:
        error = reply["error"] if isinstance(reply["error"], dict) else {}
        raise RemoteProtocolError(f"MCP {method} failed: {error.get('code')} {error.get('message')}")
    result = reply.get("result")
    return result if isinstance(result, dict) else {}


def tool_value(name: str, result: dict[str, Any]) -> Any:
    """A `tools/call` result's value: `data` (0.10) or `structuredContent`; raises on `isError`."""
    if result.get("isError") or result.get("is_error"):
        raise RemoteProtocolError(f"tool {name} failed: {result.get('content')}")
    if "data" in result:
        return result["data"]
    return result.get("structuredContent", result.get("content"))


class ClientBase(Generic[ObsT]):
    """State and settings the async and sync clients share (no I/O)."""

    observation_type: ClassVar[type[Observation] | None] = None
    state_type: ClassVar[type[State] | None] = None

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        max_message_bytes: int | None = None,
        protocol: ProtocolChoice = "auto",
        headers: dict[str, str] | None = None,
        provider: Any = None,
    ) -> None:
        if base_url is None and provider is None:
            raise ValueError("pass base_url= or provider=")
        options: dict[str, Any] = {
            "timeout_s": timeout_s,
            "connect_timeout_s": connect_timeout_s,
            "protocol": protocol,
            "headers": dict(headers or {}),
        }
        if max_message_bytes is not None:
            options["max_message_bytes"] = max_message_bytes
        self._options = options
        self.settings = ClientSettings(base_url=base_url or "http://unset", **options)
        self.provider = provider
        self._server: Any = None
        self._parser: ResultParser[ObsT] = ResultParser(self.observation_type, self.state_type)
        self._core: ClientSession | None = None
        self._lost: SessionLostError | None = None
        self._closed = False
        self._ws: Any = None
        self._lock = self._make_lock()

    def _make_lock(self) -> Any:
        """The lock serialising requests (the twins choose asyncio's or threading's)."""
        raise NotImplementedError

    @property
    def mode(self) -> Mode | None:
        """The negotiated mode (None before connecting)."""
        return self._core.mode if self._core else None

    @property
    def session_id(self) -> str | None:
        """The server's id of this session (v1 only)."""
        return self._core.session_id if self._core else None

    @property
    def limits(self) -> dict[str, Any]:
        """The limits the server advertised in its v1 hello ({} in base mode)."""
        return dict(self._core.limits) if self._core else {}

    def _use_server(self, server: Any) -> None:
        """Point the settings at a server a provider started."""
        self._server = server
        self.settings = ClientSettings(base_url=server.base_url, **self._options)

    def _session_for(self, subprotocol: str | None) -> ClientSession:
        """The protocol core for the subprotocol the server selected, checked against the settings."""
        core = ClientSession.after_handshake(subprotocol)
        if self.settings.protocol == "v1" and core.mode is not Mode.V1:
            raise RemoteProtocolError("the server does not support the openenv.v1 subprotocol")
        return core

    def _step_result(self, outcome: Outcome) -> StepResult[ObsT]:
        assert self._core is not None
        return self._parser.step_result(outcome, self._core.mode)

    def _mark_lost(self, error: Exception) -> None:
        self._lost = (
            error if isinstance(error, SessionLostError) else SessionLostError(f"session abandoned after: {error}")
        )
