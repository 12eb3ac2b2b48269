"""Per-case context: recorded WebSocket connections and HTTP calls, schema checks, helpers.

Contract: every frame a case sends or receives, every connection event and every HTTP exchange is
appended to the case transcript with a timestamp. Every server text frame on `/ws` is validated
against the server-frame schema of the negotiated mode; violations are noted in the transcript and
collected run-wide (the `core.frames.schema` check reports them) but do not by themselves fail the
case that saw them. Waits are bounded by the run's `timeout_s`; the case as a whole is bounded by
the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from openenv_conformance.model import MAX_EVENT_CHARS, Event
from openenv_conformance.target import RunOptions, Target
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented
from openenv_conformance.wire_schema import SchemaSet

V1 = "openenv.v1"


def _error_part(data: str) -> str | None:
    """The error text of a reply (error frame data, JSON-RPC error, HTTP `detail`) if it has a trace.

    Observations are environment output (a code sandbox's stderr legitimately holds tracebacks of the
    user's program); OE-SEC-003 is about the server's own error reports.
    """
    start = data.find("{")
    if start < 0:
        return data  # a non-JSON body with a trace (e.g. a plain-text 500)
    try:
        obj = json.loads(data[start:])
    except ValueError:
        return data  # not JSON: the trace is the server's
    if not isinstance(obj, dict):
        return None
    parts = []
    if obj.get("type") == "error":
        parts.append(obj.get("data"))
    if "error" in obj:
        parts.append(obj["error"])
    if "detail" in obj:
        parts.append(obj["detail"])
    if isinstance(obj.get("data"), dict) and "error" in obj["data"]:  # an `mcp` frame's JSON-RPC error
        parts.append(obj["data"]["error"])
    text = json.dumps(parts)
    return text if TRACEBACK.search(text) else None


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\bFile \"[^\"]+\", line \d+")
"""What a leaked Python stack trace looks like in an error message (OE-SEC-003)."""
MAX_FRAME_BYTES = 64 * 1024 * 1024
"""Largest frame the harness accepts from the target."""


def _cut(text: str) -> tuple[str, int | None]:
    if len(text) <= MAX_EVENT_CHARS:
        return text, None
    return text[:MAX_EVENT_CHARS] + "…", len(text)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


@dataclass(slots=True)
class Closed:
    """How a WebSocket connection ended, as seen by the harness."""

    code: int | None
    reason: str


@dataclass(slots=True)
class HandshakeRefused:
    """The server answered the upgrade with a non-101 HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class Violation:
    case_id: str
    schema: str
    frame: str
    errors: list[str]


@dataclass(slots=True)
class RunState:
    """State shared by all cases of one run (the discovery cache lives in `Probe`)."""

    target: Target
    options: RunOptions
    schemas: SchemaSet
    violations: list[Violation] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def server_schema(self, mode: str | None) -> str | None:
        if mode == V1:
            return self.schemas.first_of("ServerMessageV1", "V1ServerMessage", "ServerMessage.v1", "ServerMessage")
        return self.schemas.first_of("ServerMessage", "ServerMessageBase")


class Conn:
    """One recorded WebSocket client connection."""

    def __init__(self, case: CaseContext, label: str, ws: ClientConnection) -> None:
        self.case = case
        self.label = label
        self.ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self.closed: Closed | None = None
        self._drained = False
        """True once no more frames can be read (seen by recv, or closed by the harness)."""

    @property
    def mode(self) -> str | None:
        return V1 if self.subprotocol == V1 else None

    async def send(self, obj: Any) -> None:
        await self.send_text(dumps(obj))

    async def send_text(self, text: str) -> None:
        self.case.note(self.label, "send", text)
        await self._send(text)

    async def send_bytes(self, data: bytes) -> None:
        self.case.note(self.label, "send", f"<binary {len(data)} bytes>", size=len(data))
        await self._send(data)

    async def _send(self, payload: str | bytes) -> None:
        try:
            await asyncio.wait_for(self.ws.send(payload), self.case.timeout_s)
        except ConnectionClosed as exc:
            self._record_close(exc)
        except TimeoutError:
            self.case.note(self.label, "note", "send did not complete in time")

    def _record_close(self, exc: ConnectionClosed) -> None:
        if self.closed is None:
            rcvd = exc.rcvd
            self.closed = Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")
            code = self.closed.code if self.closed.code is not None else "none (no close frame)"
            self.case.note(self.label, "close", f"code={code} reason={self.closed.reason!r}")

    async def recv_raw(self, wait_s: float | None = None) -> str | bytes | Closed | None:
        """The next frame, a `Closed`, or None on timeout."""
        if self.closed is not None and self._drained:
            return self.closed
        try:
            frame = await asyncio.wait_for(self.ws.recv(), wait_s or self.case.timeout_s)
        except TimeoutError:
            self.case.note(self.label, "note", "no frame within the timeout")
            return None
        except ConnectionClosed as exc:
            self._record_close(exc)
            self._drained = True
            assert self.closed is not None
            return self.closed
        if isinstance(frame, bytes):
            self.case.note(self.label, "recv", f"<binary {len(frame)} bytes>", size=len(frame))
        else:
            self.case.note(self.label, "recv", frame)
        return frame

    async def recv(self, wait_s: float | None = None, *, what: str = "a reply") -> dict[str, Any]:
        """The next frame as a JSON object (schema-checked); `Fail` on close, timeout or junk."""
        frame = await self.recv_raw(wait_s)
        if frame is None:
            raise Fail(f"{self.label}: no frame within {wait_s or self.case.timeout_s:g}s ({what})")
        if isinstance(frame, Closed):
            raise Fail(f"{self.label}: connection closed (code {frame.code}) while waiting for {what}")
        if isinstance(frame, bytes):
            raise Fail(f"{self.label}: server sent a binary frame; frames are JSON text")
        try:
            obj = json.loads(frame)
        except json.JSONDecodeError as exc:
            raise Fail(f"{self.label}: server frame is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise Fail(f"{self.label}: server frame is not a JSON object")
        self.case.check_frame(self.mode, frame, obj)
        return obj

    async def request(self, obj: Any, *, what: str | None = None) -> dict[str, Any]:
        await self.send(obj)
        kind = obj.get("type") if isinstance(obj, dict) else None
        return await self.recv(what=what or f"the reply to {kind!r}")

    async def wait_closed(self, wait_s: float | None = None) -> Closed | None:
        """Read (and record) frames until the server closes; None if it stays open."""
        deadline = time.monotonic() + (wait_s or self.case.timeout_s)
        while self.closed is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            frame = await self.recv_raw(left)
            if frame is None:
                return None
        return self.closed

    async def close(self) -> None:
        if self.closed is None:
            with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
                await asyncio.wait_for(self.ws.close(), self.case.timeout_s)
            self.closed = Closed(self.ws.close_code, self.ws.close_reason or "")
            self.case.note(self.label, "close", f"closed by harness (code={self.ws.close_code})")
        self._drained = True

    async def abort(self) -> None:
        """Drop the TCP connection without a close handshake."""
        self.case.note(self.label, "close", "TCP connection dropped by harness (no close frame)")
        transport = self.ws.transport
        transport.abort()
        self.closed = Closed(None, "aborted by harness")
        self._drained = True


class CaseContext:
    """What a check function gets: the target, options, recorder and helpers."""

    def __init__(self, run: RunState, case_id: str, seed: int) -> None:
        import random

        self.run = run
        self.case_id = case_id
        self.target = run.target
        self.options = run.options
        self.timeout_s = run.options.timeout_s
        self.rng = random.Random(seed)
        self.transcript: list[Event] = []
        self.metrics: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._conns: list[Conn] = []
        self._count = 0
        self._http: httpx.AsyncClient | None = None

    # -- recording ---------------------------------------------------------------------------
    def note(self, conn: str, kind: str, data: str, size: int | None = None) -> None:
        if kind == "recv" and TRACEBACK.search(data) and _error_part(data) is not None:
            self.run.cache.setdefault("leaks", []).append(f"{self.case_id}: {data[:500]}")
        text, cut = _cut(data)
        self.transcript.append(Event((time.perf_counter() - self._t0) * 1000.0, conn, kind, text, size or cut))

    def check_frame(self, mode: str | None, raw: str, obj: dict[str, Any]) -> None:
        schema = self.run.server_schema(mode)
        if schema is None:
            return
        errors = self.run.schemas.errors(schema, obj)
        if errors:
            self.run.violations.append(Violation(self.case_id, schema, _cut(raw)[0], errors))
            self.note("schema", "note", f"frame does not match {schema}: " + "; ".join(errors))

    # -- WebSocket ---------------------------------------------------------------------------
    async def connect(
        self,
        path: str = "/ws",
        *,
        subprotocols: list[str] | None = None,
        label: str | None = None,
        max_size: int | None = MAX_FRAME_BYTES,
    ) -> Conn:
        """Open a session; `Fail` when the handshake is refused or times out.

        Fair to servers with few sessions (OE-CONF-008): when the case already holds as many open
        sessions as the server allows (`max_sessions`, learned from `/metadata` or a refusal's
        details), the case is UNIMPLEMENTED ("needs N concurrent sessions"); a 503 refusal is
        retried until the slot an earlier case held is released (within the timeout).
        """
        limit = self.run.cache.get("max_sessions")
        held = sum(1 for c in self._conns if c.closed is None and c.ws.close_code is None)
        if path == "/ws" and isinstance(limit, int) and held >= limit:
            raise Unimplemented(f"needs {held + 1} concurrent sessions; the server allows {limit} (max_sessions)")
        deadline = time.monotonic() + max(self.timeout_s, 3.0)
        delay = 0.05
        while True:
            result = await self.try_connect(path, subprotocols=subprotocols, label=label, max_size=max_size)
            if not isinstance(result, HandshakeRefused):
                return result
            if result.status == 503:
                self._learn_limit(result.body)
                if time.monotonic() + delay < deadline:
                    self.note("harness", "note", f"capacity refusal: retrying in {delay:.2f}s (slot release)")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
            raise Fail(f"WebSocket upgrade of {path} refused with HTTP {result.status}")

    def _learn_limit(self, body: bytes) -> None:
        """Take `max_sessions` from a CAPACITY_REACHED body when `/metadata` did not say it."""
        try:
            data = json.loads(body).get("data", {})
        except (ValueError, AttributeError):
            return
        top = data.get("max_sessions") if isinstance(data, dict) else None
        if isinstance(top, int) and top >= 1 and not isinstance(self.run.cache.get("max_sessions"), int):
            self.run.cache["max_sessions"] = top

    async def try_connect(
        self,
        path: str = "/ws",
        *,
        subprotocols: list[str] | None = None,
        label: str | None = None,
        max_size: int | None = MAX_FRAME_BYTES,
    ) -> Conn | HandshakeRefused:
        self._count += 1
        name = label or f"ws{self._count}"
        url = self.target.ws_url(path)
        offered = f" offering {subprotocols}" if subprotocols else ""
        self.note(name, "open", f"connect {url}{offered}")
        try:
            ws = await connect(
                url,
                subprotocols=subprotocols,  # type: ignore[arg-type]
                open_timeout=self.timeout_s,
                close_timeout=self.timeout_s,
                max_size=max_size,
                compression=None,
                ping_interval=None,
                proxy=None,
            )
        except InvalidStatus as exc:
            resp = exc.response
            refused = HandshakeRefused(
                resp.status_code,
                {k.lower(): v for k, v in resp.headers.raw_items()},
                bytes(resp.body),
            )
            body = resp.body.decode("utf-8", "replace")
            self.note(name, "open", f"upgrade refused: HTTP {resp.status_code} {body}")
            return refused
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            self.note(name, "open", f"connect failed: {exc!r}")
            raise Fail(f"{name}: cannot open {url}: {exc!r}") from None
        conn = Conn(self, name, ws)
        self.note(name, "open", f"open (subprotocol={ws.subprotocol!r})")
        self._conns.append(conn)
        return conn

    # -- HTTP --------------------------------------------------------------------------------
    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.target.base_url, timeout=self.timeout_s, trust_env=False)
        return self._http

    async def http_call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        shown = dumps(json_body) if json_body is not None else (content or "")
        if isinstance(shown, bytes):
            shown = shown.decode("utf-8", "replace")
        self.note("http", "send", f"{method} {path} {shown}".rstrip())
        if json_body is not None:
            content = dumps(json_body)
            headers = {"content-type": "application/json", **(headers or {})}
        try:
            resp = await self.http.request(method, path, content=content, headers=headers)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            # a kept-alive connection the server closed (e.g. after a 500): judge only after a
            # retry on a fresh connection, never blame the request for the stale socket
            self.note("http", "note", f"{exc!r} on a reused connection: retrying on a fresh one")
            await self.http.aclose()
            self._http = None
            try:
                resp = await self.http.request(method, path, content=content, headers=headers)
            except httpx.HTTPError as exc2:
                self.note("http", "recv", f"request failed: {exc2!r}")
                raise Fail(f"{method} {path} failed: {exc2!r}") from None
        except httpx.HTTPError as exc:
            self.note("http", "recv", f"request failed: {exc!r}")
            raise Fail(f"{method} {path} failed: {exc!r}") from None
        self.note("http", "recv", f"{resp.status_code} {resp.text}")
        return resp

    async def get_json(self, path: str) -> Any:
        resp = await self.http_call("GET", path)
        if resp.status_code != 200:
            raise Fail(f"GET {path} → HTTP {resp.status_code}, expected 200")
        try:
            return resp.json()
        except ValueError:
            raise Fail(f"GET {path}: body is not JSON") from None

    # -- lifecycle ---------------------------------------------------------------------------
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000.0

    async def aclose(self) -> None:
        for conn in self._conns:
            if conn.closed is None:
                try:
                    await asyncio.wait_for(conn.ws.close(), 1.0)
                except (TimeoutError, ConnectionClosed, OSError):
                    conn.ws.transport.abort()
        if self._http is not None:
            await self._http.aclose()


def field_of(frame: dict[str, Any], *path: str) -> Any:
    """`frame[path[0]][path[1]]…`, or `Fail` naming the missing key."""
    cur: Any = frame
    walked = []
    for key in path:
        walked.append(key)
        if not isinstance(cur, dict) or key not in cur:
            raise Fail(f"frame has no {'.'.join(walked)}: {dumps(frame)[:300]}")
        cur = cur[key]
    return cur


def expect_type(frame: dict[str, Any], kind: str, context: str) -> dict[str, Any]:
    """The frame's `data` when `type == kind`, else `Fail` quoting the frame."""
    if frame.get("type") != kind:
        if frame.get("type") == "error":
            data = frame.get("data") or {}
            raise Fail(
                f"{context}: got error {data.get('code')!r} ({str(data.get('message'))[:200]}) instead of {kind!r}"
            )
        raise Fail(f"{context}: expected a {kind!r} frame, got {dumps(frame)[:300]}")
    data = frame.get("data")
    if not isinstance(data, dict):
        raise Fail(f"{context}: {kind!r} frame has no object 'data'")
    return data


def expect_error(frame: dict[str, Any], codes: tuple[str, ...], context: str) -> str:
    """The error code when the frame is an error with one of `codes`, else `Fail`."""
    if frame.get("type") != "error":
        raise Fail(f"{context}: expected an error {'/'.join(codes)}, got {dumps(frame)[:300]}")
    data = frame.get("data")
    code = data.get("code") if isinstance(data, dict) else None
    if code not in codes:
        raise Fail(f"{context}: expected error code {'/'.join(codes)}, got {code!r}")
    return str(code)


__all__ = [
    "V1",
    "CaseContext",
    "Closed",
    "Conn",
    "HandshakeRefused",
    "RunState",
    "Undecided",
    "dumps",
    "expect_error",
    "expect_type",
    "field_of",
]
