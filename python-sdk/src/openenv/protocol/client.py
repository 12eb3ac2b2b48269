"""Client-role session state machine (sans-I/O).

`ClientSession` builds request frames and matches reply frames to them. Replies arrive strictly in
request order (both modes); in v1 each request also carries an integer `id` and the reply must echo
it, which this class verifies. The I/O layer sends what `request_*` returns and hands every received
text frame to `receive()`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from openenv.errors import RemoteError, RemoteProtocolError
from openenv.protocol.codes import SUBPROTOCOL_V1, ErrorCode, Mode
from openenv.protocol.errors import FrameError
from openenv.protocol.frames import ServerFrame, decode_server_frame, encode_frame_bytes

_REPLY_TYPE = {"reset": "observation", "step": "observation", "state": "state", "mcp": "mcp"}


def _without_id(raw: str | bytes) -> bool:
    """Whether a server frame (already known to be a JSON object of an unknown type) has no `id`."""
    obj = orjson.loads(raw)
    return isinstance(obj, dict) and "id" not in obj


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class Outcome:
    """The decoded reply to one request."""

    kind: str
    data: dict[str, Any]


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class StepData:
    """The fields of an observation reply, normalised across modes."""

    observation: dict[str, Any]
    reward: float | None
    done: bool
    terminated: bool
    truncated: bool
    metadata: dict[str, Any]


def parse_observation(data: dict[str, Any], mode: Mode) -> StepData:
    """Normalise the `data` of an `observation` frame.

    Base-mode servers do not say why an episode ended: `terminated` mirrors `done` and
    `truncated` is False. A boolean reward (legal at the base level) becomes 0.0/1.0.
    """
    observation = data.get("observation")
    done = data.get("done")
    if not isinstance(observation, dict) or not isinstance(done, bool):
        raise RemoteProtocolError("observation frame lacks an 'observation' object or a boolean 'done'")
    reward = data.get("reward")
    if isinstance(reward, bool):
        reward = float(reward)
    elif reward is not None and not isinstance(reward, int | float):
        raise RemoteProtocolError(f"observation frame has a non-numeric reward: {reward!r}")
    metadata = data.get("metadata") or observation.get("metadata") or {}
    if mode is Mode.V1:
        terminated, truncated = data.get("terminated"), data.get("truncated")
        if not isinstance(terminated, bool) or not isinstance(truncated, bool):
            raise RemoteProtocolError("v1 observation frame lacks boolean 'terminated'/'truncated'")
        if done != (terminated or truncated):
            raise RemoteProtocolError("v1 observation frame: done != terminated or truncated")
    else:
        terminated, truncated = done, False
    return StepData(
        observation=observation,
        reward=None if reward is None else float(reward),
        done=done,
        terminated=terminated,
        truncated=truncated,
        metadata=metadata if isinstance(metadata, dict) else {},
    )


@dataclass(slots=True)
class ClientSession:
    """The per-connection client state machine."""

    mode: Mode = Mode.BASE
    session_id: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    _pending: deque[tuple[str, int | None]] = field(default_factory=deque)
    _next_id: int = 1
    awaiting_hello: bool = False

    @classmethod
    def after_handshake(cls, subprotocol: str | None) -> ClientSession:
        """A session for the subprotocol the server selected (None → base mode)."""
        if subprotocol is None:
            return cls(Mode.BASE)
        if subprotocol != SUBPROTOCOL_V1:
            raise RemoteProtocolError(f"server selected an unknown subprotocol: {subprotocol!r}")
        return cls(Mode.V1, awaiting_hello=True)

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    def request(self, kind: str, data: dict[str, Any] | None = None) -> str:
        """The frame text for a `reset`, `step`, `state` or `mcp` request; records it as pending."""
        return self.request_bytes(kind, data).decode()

    def request_bytes(self, kind: str, data: dict[str, Any] | None = None) -> bytes:
        """`request` as UTF-8 bytes, ready to be framed."""
        if kind not in _REPLY_TYPE:
            raise ValueError(f"not a request type: {kind!r}")
        request_id: int | None = None
        if self.mode is Mode.V1:
            request_id = self._next_id
            self._next_id += 1
        self._pending.append((kind, request_id))
        if kind == "state":
            body: dict[str, Any] = {"type": "state"}
            if request_id is not None:
                body["id"] = request_id
            return orjson.dumps(body)
        return encode_frame_bytes(kind, data if data is not None else {}, request_id)

    @staticmethod
    def close_frame() -> str:
        """The `close` frame (the server answers by closing the connection)."""
        return '{"type":"close"}'

    def receive(self, raw: str | bytes) -> Outcome | None:
        """Match one server frame to the oldest pending request.

        Returns the `Outcome`, or None for the v1 `session` hello (which fills `session_id` and
        `limits`).

        Raises:
            RemoteError: the reply is an `error` frame (its code's subclass).
            RemoteProtocolError: the frame is malformed, unexpected, of the wrong type or id.
        """
        try:
            frame = decode_server_frame(raw, self.mode)
        except FrameError as exc:
            if self.mode is Mode.V1 and exc.code is ErrorCode.UNKNOWN_TYPE and _without_id(raw):
                return None  # OE-WS-026: a v1 frame of an unknown type without id is ignored
            raise RemoteProtocolError(exc.message) from None
        if frame.type == "session":
            self._hello(frame)
            return None
        if not self._pending:
            if frame.type == "error":
                raise RemoteError.from_wire(frame.data)
            raise RemoteProtocolError(f"unsolicited '{frame.type}' frame")
        kind, request_id = self._pending.popleft()
        if self.mode is Mode.V1 and frame.id is not None and frame.id != request_id:
            raise RemoteProtocolError(f"reply id {frame.id!r} does not match request id {request_id!r}")
        if frame.type == "error":
            raise RemoteError.from_wire(frame.data)
        if self.mode is Mode.V1 and frame.id is None:
            raise RemoteProtocolError(f"v1 reply to '{kind}' does not echo its id")
        expected = _REPLY_TYPE[kind]
        if frame.type != expected:
            raise RemoteProtocolError(f"expected a '{expected}' frame for '{kind}', got '{frame.type}'")
        return Outcome(frame.type, frame.data)

    def _hello(self, frame: ServerFrame) -> None:
        if not self.awaiting_hello:
            raise RemoteProtocolError("unexpected 'session' frame")
        session_id = frame.data.get("session_id")
        if not isinstance(session_id, str):
            raise RemoteProtocolError("'session' frame lacks a string session_id")
        self.awaiting_hello = False
        self.session_id = session_id
        limits = frame.data.get("limits")
        self.limits = limits if isinstance(limits, dict) else {}
