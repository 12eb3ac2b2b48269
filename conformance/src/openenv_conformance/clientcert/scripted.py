"""The scripted server that client scenarios play: a real WebSocket server on loopback.

Contract: `ScriptedServer(play, ...)` listens on `127.0.0.1` (port 0 unless given) and runs
`play(session)` for every connection the client under test opens; `Session` records every frame
the client sends (text or binary, parsed JSON or the parse error), which subprotocols it offered,
whether it sent `{"type":"close"}` and how the connection ended, in a `Peer` record the scenario's
judge reads afterwards. `refuse` makes the server answer the next N upgrades with HTTP 503, a
`Retry-After` header and a `CAPACITY_REACHED` error body (OE-LIM-011). Every wait is bounded: a
session's reads time out after `read_timeout_s`, and the server accepts at most `max_connections`
connections per scenario (later ones are refused with 503 and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

V1 = "openenv.v1"
MAX_CLIENT_FRAME_BYTES = 1024 * 1024
"""Largest frame the scripted server accepts from a client (scenarios send small requests)."""
MAX_RECORDED_FRAMES = 1_000
DEFAULT_LIMITS: dict[str, Any] = {
    "max_message_bytes": 16 * 1024 * 1024,
    "step_timeout_s": 30.0,
    "idle_timeout_s": 300.0,
    "max_sessions": 8,
}


class ClientGone(Exception):
    """The client closed the connection (or it failed) while the script waited for a frame."""


@dataclass(slots=True)
class Received:
    """One frame the client sent."""

    t: float
    """Seconds since the scenario's server started."""
    binary: bool
    text: str
    value: Any = None
    """The parsed JSON value (None when `error` is set)."""
    error: str | None = None
    """Why the frame is not one JSON object in a text message (OE-WS-004), if it is not."""


@dataclass(slots=True)
class Peer:
    """What the scripted server saw of one client connection."""

    index: int
    opened_at: float
    offered: list[str]
    selected: str | None
    frames: list[Received] = field(default_factory=list)
    close_frame: bool = False
    """The client sent `{"type":"close"}`."""
    client_close_code: int | None = None
    """Close code of the client's WebSocket Close frame (None: it never sent one)."""
    ended_at: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    """What a script observed beyond the frames (e.g. how many requests arrived before a reply)."""

    def requests(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Parsed request frames, optionally of one type."""
        out = [f.value for f in self.frames if isinstance(f.value, dict)]
        return [f for f in out if kind is None or f.get("type") == kind]

    def bad_frames(self) -> list[str]:
        return [f.error for f in self.frames if f.error]


@dataclass(slots=True)
class Refusal:
    """An upgrade the server refused with HTTP 503."""

    t: float
    retry_after_s: float


class Session:
    """One client connection as the script sees it."""

    def __init__(self, server: ScriptedServer, ws: ServerConnection, peer: Peer) -> None:
        self.server = server
        self.ws = ws
        self.peer = peer
        self.v1 = peer.selected == V1
        self.step_count = 0
        self.episode_id = f"ep-{peer.index}"

    async def recv(self, timeout_s: float | None = None) -> dict[str, Any]:
        """The next client frame that is a JSON object (others are recorded and skipped)."""
        limit = timeout_s if timeout_s is not None else self.server.read_timeout_s
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), limit)
            except ConnectionClosed:
                raise ClientGone() from None
            except TimeoutError:
                raise ClientGone() from None
            value = self._record(raw)
            if isinstance(value, dict):
                if value.get("type") == "close":
                    self.peer.close_frame = True
                return value

    def _record(self, raw: str | bytes) -> Any:
        t = self.server.now()
        if len(self.peer.frames) >= MAX_RECORDED_FRAMES:
            return None
        if isinstance(raw, bytes):
            self.peer.frames.append(Received(t, True, repr(raw[:64]), None, "a binary message"))
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            self.peer.frames.append(Received(t, False, raw[:512], None, f"not JSON: {exc}"))
            return None
        error = None if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"
        self.peer.frames.append(Received(t, False, raw[:512], value if error is None else None, error))
        return value if error is None else None

    async def send(self, obj: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(obj, separators=(",", ":")))

    async def send_text(self, text: str) -> None:
        await self.ws.send(text)

    async def send_fragments(self, text: str, pieces: int, delay_s: float) -> None:
        """One message split into `pieces` WebSocket frames, `delay_s` apart."""
        size = max(1, -(-len(text) // pieces))

        async def chunks() -> AsyncIterator[str]:
            for start in range(0, len(text), size):
                if start:
                    await asyncio.sleep(delay_s)
                yield text[start : start + size]

        await self.ws.send(chunks())

    async def hello(self, limits: dict[str, Any] | None = None) -> None:
        """The v1 `session` frame (only on a v1 connection)."""
        if self.v1:
            data = {"session_id": f"s-{self.peer.index}", "protocol": V1, "limits": limits or DEFAULT_LIMITS}
            await self.send({"type": "session", "data": data})

    def observation(self, request: dict[str, Any], observation: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """An `observation` frame answering `request` (v1: with its id, terminated and truncated)."""
        data: dict[str, Any] = {"observation": observation, "reward": extra.pop("reward", None), "done": False}
        data.update(extra)
        if self.v1:
            data.setdefault("terminated", bool(data["done"]) and not data.get("truncated", False))
            data.setdefault("truncated", False)
        else:
            data.pop("terminated", None)
            data.pop("truncated", None)
        return self._frame("observation", data, request)

    def error(self, request: dict[str, Any] | None, code: str, message: str, **details: Any) -> dict[str, Any]:
        return self._frame("error", {"message": message, "code": code, **details}, request)

    def _frame(self, kind: str, data: dict[str, Any], request: dict[str, Any] | None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": kind, "data": data}
        if self.v1 and request is not None and "id" in request:
            frame["id"] = request["id"]
        return frame

    async def answer(self, request: dict[str, Any]) -> None:
        """The default environment: reset → tick 0; step `{"n": k}` → echo k, reward k; state."""
        kind = request.get("type")
        raw = request.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if kind == "reset":
            self.step_count = 0
            if isinstance(data.get("episode_id"), str):
                self.episode_id = data["episode_id"]
            await self.send(self.observation(request, {"tick": 0}))
        elif kind == "step":
            self.step_count += 1
            n = data.get("n")
            await self.send(self.observation(request, {"echo": n}, reward=float(n) if isinstance(n, int) else 0.0))
        elif kind == "state":
            await self.send(
                self._frame("state", {"episode_id": self.episode_id, "step_count": self.step_count}, request)
            )
        elif kind == "close":
            await self.ws.close(1000)
        else:
            await self.send(self.error(request, "UNKNOWN_TYPE", f"Unknown message type: {kind}"))

    async def serve_rest(self) -> None:
        """Answer every further request with the default environment until the client leaves."""
        with contextlib.suppress(ClientGone, ConnectionClosed):
            while True:
                await self.answer(await self.recv())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self.ws.transport.abort()


Play = Callable[[Session], Awaitable[None]]


class ScriptedServer:
    """A loopback WebSocket server that plays one scenario for every connection."""

    def __init__(
        self,
        play: Play,
        *,
        offer_v1: bool = True,
        refuse: int = 0,
        retry_after_s: float = 1.0,
        read_timeout_s: float = 10.0,
        max_connections: int = 8,
    ) -> None:
        self.play = play
        self.offer_v1 = offer_v1
        self.refuse_left = refuse
        self.retry_after_s = retry_after_s
        self.read_timeout_s = read_timeout_s
        self.max_connections = max_connections
        self.peers: list[Peer] = []
        self.refusals: list[Refusal] = []
        self.errors: list[str] = []
        """Script faults (exceptions escaping `play`): they make the scenario ERROR, not FAIL."""
        self.shared: dict[str, Any] = {}
        """What the script keeps across connections (e.g. how many episodes it has started)."""
        self._server: Server | None = None
        self._t0 = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        return time.monotonic() - self._t0

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> ScriptedServer:
        self._t0 = time.monotonic()
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            select_subprotocol=self._select,
            max_size=MAX_CLIENT_FRAME_BYTES,
            compression=None,
            ping_interval=None,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close(close_connections=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5.0)

    def _select(self, connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        return Subprotocol(V1) if self.offer_v1 and V1 in offered else None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0].rstrip("/") != "/ws":
            return connection.respond(404, "not found\n")
        over = len(self.peers) >= self.max_connections
        if self.refuse_left > 0 or over:
            self.refuse_left = max(0, self.refuse_left - 1)
            self.refusals.append(Refusal(self.now(), self.retry_after_s))
            body = {
                "type": "error",
                "data": {"message": "Server at capacity: 1/1 sessions active.", "code": "CAPACITY_REACHED",
                         "active_sessions": 1, "max_sessions": 1},
            }  # fmt: skip
            headers = Headers(
                [
                    ("Content-Type", "application/json"),
                    ("Retry-After", f"{self.retry_after_s:g}"),
                    ("Connection", "close"),
                ]
            )
            return Response(503, "Service Unavailable", headers, json.dumps(body).encode())
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        offered = [p.strip() for p in ws.request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        peer = Peer(len(self.peers), self.now(), offered, ws.subprotocol)
        self.peers.append(peer)
        session = Session(self, ws, peer)
        try:
            await self.play(session)
            # after the script: keep answering, then wait for the client to leave
            await session.serve_rest()
        except (ClientGone, ConnectionClosed):
            pass
        except Exception as exc:  # a fault in the script itself: the scenario cannot be judged
            self.errors.append(f"scripted server: {exc!r}")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.wait_closed(), 2.0)
            rcvd = ws.protocol.close_rcvd
            peer.client_close_code = rcvd.code if rcvd is not None else None
            peer.ended_at = self.now()
