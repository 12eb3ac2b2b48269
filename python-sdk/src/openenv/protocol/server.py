"""Server-role session state machine (sans-I/O).

One `ServerSession` per `/ws` connection. The I/O layer feeds it every inbound frame with
`receive()`; the session answers either with frames to send right away (errors) or with a
`Request` the I/O layer must carry out on the environment, whose outcome it hands back with
`observation()`, `state()`, `mcp()` or `failure()`. Every method returns the list of `Send` / `Close`
outputs to write, in order.

The session's `EpisodeLedger` is the one record of the episode: its phase, `episode_id` and
`step_count`. `observation()` commits a reset or step to it only when the observation is actually
sent; `state()` stamps the ledger's `episode_id` and `step_count` on every state reply, so they are
right whatever the environment reports (OE-GEN-005, OE-GEN-006, OE-GEN-011). The ledger belongs to
the environment instance, not the connection: a named session's ledger outlives its connections.
For an environment that records its episodes the ledger also holds the episode's `TrajectoryRecord`
(RFC 0004): every step answered with an observation is recorded when it is sent, a reset clears it,
and `state()` adds it to the reply as `trajectory`, dropping the oldest steps further when the reply
would exceed `max_message_bytes` (OE-RWD-006, OE-RWD-007, OE-RWD-008). A ledger without a record
costs one `is None` test per step.

Episode rule table (v1 mode only; base mode passes everything to the environment):

    ============  ===========================  ================================
    episode       reset                        step
    ============  ===========================  ================================
    NOT_STARTED   → RUNNING (or ENDED if done)  error EPISODE_NOT_STARTED
    RUNNING       → RUNNING (or ENDED if done)  → RUNNING (or ENDED if done)
    ENDED         → RUNNING (or ENDED if done)  error EPISODE_ENDED
    ============  ===========================  ================================
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from openenv.protocol.codes import (
    BASE_ERROR_CODES,
    CLOSE_CODE_FOR,
    SUBPROTOCOL_V1,
    CloseCode,
    ErrorCode,
    Mode,
    is_finite_number,
)
from openenv.protocol.errors import FrameError
from openenv.protocol.frames import (
    ClientFrame,
    RequestId,
    decode_client_frame,
    encode_error_bytes,
    encode_frame_bytes,
)

_SILENT_AT_BASE = frozenset({ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.IDLE_TIMEOUT})
"""v1-only closes that a base-level connection gets without an error frame (OE-WS-028)."""


MAX_TRAJECTORY_STEPS = 100_000
"""The largest bound an environment may give its recorded trajectory."""


class TrajectoryRecord:
    """The current episode's newest steps, kept encoded (OE-RWD-006/007/008).

    At most `max_steps` steps and at most `max_bytes` bytes of them (their JSON, a separating comma
    each): the oldest go first and are counted in `dropped`. A step whose record alone is larger
    than `max_bytes` is dropped at once. Each step is encoded once, when recorded, and embedded as
    is (`orjson.Fragment`) in every `state` reply.
    """

    __slots__ = ("dropped", "max_bytes", "max_steps", "size", "sizes", "steps")

    def __init__(self, max_steps: int, max_bytes: int) -> None:
        if type(max_steps) is not int or not 1 <= max_steps <= MAX_TRAJECTORY_STEPS:
            raise ValueError(f"max_steps must be an integer in 1..{MAX_TRAJECTORY_STEPS}")
        if type(max_bytes) is not int or max_bytes < 1:
            raise ValueError("max_bytes must be a positive integer")
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self.steps: deque[orjson.Fragment] = deque()
        self.sizes: deque[int] = deque()
        self.size = 0
        self.dropped = 0

    def clear(self) -> None:
        """A new episode: no steps, nothing dropped."""
        self.steps.clear()
        self.sizes.clear()
        self.size = 0
        self.dropped = 0

    def record(self, action: Any, observation: Any, reward: float | int | bool | None) -> None:
        """Keep one step (its observation may be an `orjson.Fragment`), then apply both bounds."""
        if reward.__class__ is bool:
            reward = float(reward)
        entry = orjson.dumps({"action": action, "observation": observation, "reward": reward})
        size = len(entry) + 1
        self.steps.append(orjson.Fragment(entry))
        self.sizes.append(size)
        self.size += size
        while self.steps and (len(self.steps) > self.max_steps or self.size > self.max_bytes):
            self._drop_oldest()

    def shed(self, nbytes: int) -> None:
        """Drop the oldest steps until at least `nbytes` bytes of them are gone (or none is left)."""
        gone = 0
        while self.steps and gone < nbytes:
            gone += self.sizes[0]
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        self.steps.popleft()
        self.size -= self.sizes.popleft()
        self.dropped += 1

    def as_wire(self) -> dict[str, Any]:
        """The `trajectory` member of a `state` reply (`schemas/RecordedTrajectory.schema.json`)."""
        return {"steps": list(self.steps), "max_steps": self.max_steps, "dropped": self.dropped}


class Episode(enum.Enum):
    """Where the session's current episode stands."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    ENDED = "ended"


@dataclass(slots=True)
class EpisodeLedger:
    """The episode of one environment instance, as the runtime counts it."""

    phase: Episode = Episode.NOT_STARTED
    episode_id: str | None = None
    step_count: int = 0
    trajectory: TrajectoryRecord | None = None
    """The episode's record, for an environment that records its episodes (else None)."""

    def stamp(self, state: dict[str, Any]) -> dict[str, Any]:
        """`state` with this ledger's `episode_id`, `step_count` and `trajectory` (a new dict)."""
        stamped = {**state, "episode_id": self.episode_id, "step_count": self.step_count}
        if self.trajectory is not None:
            stamped["trajectory"] = self.trajectory.as_wire()
        return stamped


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class Send:
    """Write this text frame (`data`: its UTF-8 JSON)."""

    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode()


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class Close:
    """Close the connection with this code (after any preceding `Send`)."""

    code: int
    reason: str = ""


Output = Send | Close


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class Request:
    """An operation the I/O layer must run on the environment.

    `kind` is `reset` (kwargs in `data`), `step` (the action object in `data`), `state`, `mcp`
    (a JSON-RPC request object in `data`) or `close` (tear the session down; nothing to answer).
    """

    kind: str
    data: dict[str, Any]
    id: RequestId | None = None


@dataclass(slots=True)
class ServerSession:
    """The per-connection server state machine."""

    mode: Mode
    session_id: str
    limits: dict[str, Any] = field(default_factory=dict)
    ledger: EpisodeLedger = field(default_factory=EpisodeLedger)
    closed: bool = False

    @property
    def episode(self) -> Episode:
        """The phase of the current episode."""
        return self.ledger.phase

    @staticmethod
    def select_subprotocol(offered: list[str], *, v1_enabled: bool = True) -> str | None:
        """The subprotocol to accept from the client's offer (None → base mode)."""
        return SUBPROTOCOL_V1 if v1_enabled and SUBPROTOCOL_V1 in offered else None

    def hello(self) -> list[Output]:
        """The frames to send right after the upgrade: the `session` frame in v1, nothing in base."""
        if self.mode is not Mode.V1:
            return []
        data = {"session_id": self.session_id, "protocol": SUBPROTOCOL_V1, "limits": self.limits}
        return [Send(encode_frame_bytes("session", data))]

    def receive(self, raw: str | bytes, *, binary: bool = False) -> Request | list[Output]:
        """Accept one inbound frame: a `Request` to run, or outputs to write now."""
        if self.closed:
            return []
        try:
            frame = decode_client_frame(raw, self.mode, binary=binary)
        except FrameError as exc:
            return self._error(exc.code, exc.message, exc.details, exc.request_id)
        return self._dispatch(frame)

    def _dispatch(self, frame: ClientFrame) -> Request | list[Output]:
        if frame.type == "close":
            self.closed = True
            return Request("close", frame.data, frame.id)
        if frame.type == "step" and self.mode is Mode.V1:
            phase = self.ledger.phase
            if phase is Episode.NOT_STARTED:
                return self._error(
                    ErrorCode.EPISODE_NOT_STARTED,
                    "step before reset: send a reset to start an episode",
                    None,
                    frame.id,
                )
            if phase is Episode.ENDED:
                return self._error(
                    ErrorCode.EPISODE_ENDED,
                    "the episode has ended (done was true): send a reset to start a new one",
                    None,
                    frame.id,
                )
        return Request(frame.type, frame.data, frame.id)

    def observation(
        self,
        request: Request,
        *,
        observation: dict[str, Any] | orjson.Fragment,
        reward: float | int | bool | None,
        terminated: bool,
        truncated: bool,
        metadata: dict[str, Any] | None,
        episode_id: str | None = None,
    ) -> list[Output]:
        """Answer a `reset`/`step` request with the environment's observation and, once it is to
        be sent, commit it to the ledger (a reset starts episode `episode_id` at step 0; a step
        counts one).

        A reward that is not a finite number is refused with `EXECUTION_ERROR` (OE-V1-041,
        OE-WS-021), never sent as `null`.
        """
        done = bool(terminated or truncated)
        if reward is not None and not is_finite_number(reward):
            return self._error(
                ErrorCode.EXECUTION_ERROR,
                f"the environment produced a non-finite reward ({reward})",
                None,
                request.id,
            )
        if self.mode is Mode.V1 and isinstance(reward, bool):
            reward = float(reward)
        data: dict[str, Any] = {"observation": observation, "reward": reward, "done": done}
        if self.mode is Mode.V1:
            data["terminated"] = bool(terminated)
            data["truncated"] = bool(truncated)
        if metadata:
            data["metadata"] = metadata
        encoded = self._encode_within_limit("observation", data, request)
        if isinstance(encoded, list):
            return encoded
        ledger = self.ledger
        if request.kind == "reset":
            ledger.episode_id = episode_id
            ledger.step_count = 0
            if ledger.trajectory is not None:
                ledger.trajectory.clear()
        else:
            ledger.step_count += 1
            if ledger.trajectory is not None:
                ledger.trajectory.record(request.data, observation, reward)
        ledger.phase = Episode.ENDED if done else Episode.RUNNING
        return [Send(encoded)]

    def state(self, request: Request, state: dict[str, Any]) -> list[Output]:
        """Answer a `state` request: the environment's `state`, stamped by the ledger. A recorded
        trajectory that would take the reply past `max_message_bytes` loses its oldest steps, for
        good and counted in `dropped`, until the reply fits (OE-RWD-008)."""
        ledger = self.ledger
        data = ledger.stamp(state)
        record = ledger.trajectory
        limit = self.limits.get("max_message_bytes")
        if record is None or not isinstance(limit, int):
            return self._reply("state", data, request)
        encoded = encode_frame_bytes("state", data, request.id)
        while len(encoded) > limit and record.steps:
            record.shed(len(encoded) - limit)
            data = ledger.stamp(state)
            encoded = encode_frame_bytes("state", data, request.id)
        return self._reply("state", data, request) if len(encoded) > limit else [Send(encoded)]

    def mcp(self, request: Request, response: dict[str, Any] | None) -> list[Output]:
        """Answer an `mcp` request with a JSON-RPC response (None for a notification)."""
        if response is None:
            return []
        return self._reply("mcp", response, request)

    def _reply(self, kind: str, data: dict[str, Any], request: Request) -> list[Output]:
        encoded = self._encode_within_limit(kind, data, request)
        return encoded if isinstance(encoded, list) else [Send(encoded)]

    def _encode_within_limit(self, kind: str, data: dict[str, Any], request: Request) -> bytes | list[Output]:
        """The reply, or the error outputs replacing a reply over `max_message_bytes` (OE-LIM-007)."""
        encoded = encode_frame_bytes(kind, data, request.id)
        limit = self.limits.get("max_message_bytes")
        if isinstance(limit, int) and len(encoded) > limit:
            message = f"the {kind} reply ({len(encoded)} bytes) exceeds max_message_bytes ({limit})"
            return self._error(ErrorCode.EXECUTION_ERROR, message, None, request.id)
        return encoded

    def failure(
        self,
        request: Request | None,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        fatal: bool = False,
    ) -> list[Output]:
        """Answer with an `error` frame; `fatal` also closes the session."""
        return self._error(code, message, details, request.id if request else None, fatal=fatal)

    def _error(
        self,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None,
        request_id: RequestId | None,
        *,
        fatal: bool = False,
    ) -> list[Output]:
        close_code = CLOSE_CODE_FOR.get(code, CloseCode.POLICY_VIOLATION)
        if self.mode is not Mode.V1:
            request_id = None
            if code in _SILENT_AT_BASE:
                self.closed = True
                return [Close(close_code)]
            if code not in BASE_ERROR_CODES:
                code = ErrorCode.EXECUTION_ERROR
        outputs: list[Output] = [Send(encode_error_bytes(code, message, details, request_id))]
        if fatal:
            self.closed = True
            outputs.append(Close(close_code))
        return outputs

    def closing(self, code: ErrorCode, message: str) -> list[Output]:
        """Server-initiated close (idle timeout, shutdown, oversized frame): error frame, then close."""
        return self._error(code, message, None, None, fatal=True)
