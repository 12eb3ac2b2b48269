"""An asyncio WebSocket client transport: `websockets`' handshake, then our own RFC 6455 framing.

The opening handshake is `websockets`' sans-I/O `ClientProtocol` (request, `Sec-WebSocket-Accept`
and subprotocol checks, error responses with their bodies), spoken over a plain `asyncio.Protocol`.
After a `101`, the connection's bytes are framed by `transports.wsframes` in the client role
(unmasked frames in, masked frames out, keys from a pooled `os.urandom`), straight from the
protocol's `data_received` callback: a complete reply resolves the waiting `recv()`'s future with
no intermediate queue, task or per-frame object. This is what the async client runs on; the sync
client's `transports.sync_websocket` is its blocking twin.

Contract:
* `recv(deadline)` returns the next message as UTF-8 bytes (text or binary; the caller's JSON
  parser checks the encoding), raises `TimeoutError` when the loop clock passes `deadline`, and
  `ConnectionClosed` (with the close frames seen) once the connection is closing and every earlier
  message was read. Deadlines are enforced by one lazily re-armed timer per connection, not a timer
  per call: a connection whose replies come in time costs one timer event per `timeout` period.
* `send(data)` frames and writes one text message; while the transport's write buffer is over its
  high-water mark it waits (until `deadline`) for the peer to read.
* Pings are answered; the peer's close is echoed; a protocol violation by the server closes the
  connection with the RFC 6455 code (1002, 1007, 1009). No keepalive pings are sent: a dead peer is
  found by the next request's deadline.
* Failures surface as `websockets` exceptions (`InvalidStatus`, `InvalidHandshake`,
  `ConnectionClosed`, `TimeoutError`, `OSError`), mapped to SDK errors by the caller.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK, InvalidHandshake
from websockets.frames import Close
from websockets.http11 import Response
from websockets.uri import parse_uri

from openenv.transports.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameFault,
    FrameReader,
    MaskKeys,
    masked_frame,
    parse_close,
)

MAX_RESPONSE_HEAD = 65536
"""Bytes of handshake response read while looking for the end of its headers."""
_NO_LIMIT = 1 << 62
_OK_CODES = (1000, 1001)
_HEAD_END = b"\r\n\r\n"


class AsyncWebSocket(asyncio.Protocol):
    """One client connection (an `asyncio.Protocol`). Not safe for concurrent `recv` calls; the
    async client serialises requests."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_size: int | None) -> None:
        self.loop = loop
        self._max_size = max_size if max_size is not None else _NO_LIMIT
        self.transport: asyncio.Transport | None = None
        self.subprotocol: str | None = None
        # handshake phase
        self._head = b""
        self._head_waiter: asyncio.Future[None] | None = None
        self._handshake: ClientProtocol | None = None
        # framing phase
        self._reader: FrameReader | None = None
        self._keys = MaskKeys()
        self._messages: deque[bytes] = deque()
        self._waiter: asyncio.Future[bytes] | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._close_rcvd: Close | None = None
        self._close_sent: Close | None = None
        self._rcvd_then_sent: bool | None = None
        self._eof = False
        self._lost: asyncio.Future[None] = loop.create_future()

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        open_timeout: float = 10.0,
        max_size: int | None = None,
    ) -> AsyncWebSocket:
        """Open a connection and complete the opening handshake within `open_timeout`."""
        loop = asyncio.get_running_loop()
        uri = parse_uri(url)
        connection = cls(loop, max_size)
        try:
            async with asyncio.timeout(open_timeout):
                context = ssl.create_default_context() if uri.secure else None
                await loop.create_connection(
                    lambda: connection,
                    uri.host,
                    uri.port,
                    ssl=context,
                    server_hostname=uri.host if context else None,
                )
                await connection._open(uri, subprotocols, headers)
        except TimeoutError:
            connection.abort()
            raise TimeoutError("timed out during the opening handshake") from None
        except BaseException:
            connection.abort()
            raise
        return connection

    async def _open(self, uri: Any, subprotocols: list[str] | None, headers: dict[str, str] | None) -> None:
        protocol = ClientProtocol(uri, subprotocols=subprotocols, max_size=None)  # type: ignore[arg-type]
        request = protocol.connect()
        for name, value in (headers or {}).items():
            request.headers[name] = value
        protocol.send_request(request)
        assert self.transport is not None
        self.transport.write(b"".join(protocol.data_to_send()))
        self._handshake = protocol
        while True:  # read up to the end of the response headers
            end = self._head.find(_HEAD_END)
            if end >= 0 or len(self._head) > MAX_RESPONSE_HEAD or self._eof:
                break
            await self._wait_head()
        if end >= 0 and self._head.startswith((b"HTTP/1.1 101 ", b"HTTP/1.0 101 ")):
            # a 101 has no body: everything after its blank line is frames, kept for our reader
            rest = self._head[end + len(_HEAD_END) :]
            protocol.receive_data(self._head[: end + len(_HEAD_END)])
            events = protocol.events_received()
        else:  # not a 101: websockets reads the rest (the error body) and reports it
            rest = b""
            protocol.receive_data(self._head)
            self._head = b""
            events = protocol.events_received()
            while not events and not self._eof:
                await self._wait_head()
                protocol.receive_data(self._head)
                self._head = b""
                events = protocol.events_received()
            if not events:
                protocol.receive_eof()
                events = protocol.events_received()
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        if not events or not isinstance(events[0], Response):
            raise InvalidHandshake("connection closed during the opening handshake")
        self.subprotocol = protocol.subprotocol
        self._handshake = None
        self._head = b""
        self._reader = FrameReader(self._max_size, masked=False)
        if rest:
            self._absorb(rest)  # frames the server sent right after its 101

    async def _wait_head(self) -> None:
        waiter = self._head_waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            self._head_waiter = None

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._reader is None:  # still in the handshake
            self._head += data
            waiter = self._head_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self._absorb(data)

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lost.done():
            self._lost.set_result(None)
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)
        self._wake()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- framing -----------------------------------------------------------------------------------
    def _absorb(self, data: bytes) -> None:
        """Take received bytes: hand over messages, answer pings and the peer's close."""
        reader = self._reader
        assert reader is not None
        for opcode, payload in reader.feed(data):
            if opcode in (OP_TEXT, OP_BINARY):
                waiter = self._waiter
                if waiter is not None and not self._messages:
                    self._waiter = None
                    if not waiter.done():
                        waiter.set_result(payload)
                        continue
                self._messages.append(payload)
            elif opcode == OP_PING:
                if self._close_sent is None and self.transport is not None:
                    self.transport.write(masked_frame(OP_PONG, payload, self._keys.next()))
            elif opcode == OP_CLOSE:
                parsed = parse_close(payload)
                if isinstance(parsed, FrameFault):
                    self._fail(parsed)
                    return
                code, reason = parsed
                self._close_rcvd = Close(1005 if code is None else code, reason)
                if self._close_sent is None:  # echo the peer's status, completing the handshake
                    self._send_close(code, "")
                    self._rcvd_then_sent = True
                elif self._rcvd_then_sent is None:
                    self._rcvd_then_sent = False
                self._wake()
                return
            # OP_PONG: nothing to do (this client sends no pings)
        if reader.fault is not None:
            self._fail(reader.fault)

    def _fail(self, fault: FrameFault) -> None:
        """The server broke the protocol: close with the fault's code (RFC 6455 §7.1.7)."""
        if self._close_sent is None:
            self._send_close(fault.code, fault.reason)
        self._eof = True
        if self.transport is not None:
            self.transport.close()
        self._wake()

    def _send_close(self, code: int | None, reason: str) -> None:
        body = b"" if code is None else code.to_bytes(2, "big") + reason.encode()[:123]
        self._close_sent = Close(1005 if code is None else code, reason)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(OP_CLOSE, body, self._keys.next()))

    def _closing(self) -> bool:
        return self._close_rcvd is not None or self._close_sent is not None or self._eof

    def _wake(self) -> None:
        """Fail a waiting `recv()` (and a waiting handshake read) once nothing more can come."""
        head = self._head_waiter
        if head is not None and not head.done():
            head.set_result(None)
        waiter = self._waiter
        if waiter is not None and self._closing() and not self._messages:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(self._closed())

    def _closed(self) -> ConnectionClosed:
        """The exception describing the closing handshake so far."""
        rcvd, sent = self._close_rcvd, self._close_sent
        ok = rcvd is not None and sent is not None and rcvd.code in _OK_CODES and sent.code in _OK_CODES
        kind = ConnectionClosedOK if ok else ConnectionClosedError
        return kind(rcvd, sent, self._rcvd_then_sent)

    # -- deadlines ---------------------------------------------------------------------------------
    def _arm(self, deadline: float) -> None:
        """Make sure the timer fires no later than `deadline` (re-armed lazily, see `_on_timer`)."""
        self._deadline = deadline
        timer = self._timer
        if timer is None or deadline < self._timer_at:
            if timer is not None:
                timer.cancel()
            self._timer_at = deadline
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self.loop.time() >= self._deadline:
            self._waiter = None
            waiter.set_exception(TimeoutError("no message before the timeout"))
        else:  # a later request moved the deadline: wait for that one
            self._timer_at = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._on_timer)

    # -- the API -----------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write one text message (UTF-8 bytes); `ConnectionClosed` once either side started
        closing. Does not wait: call `drained()` when `writing_paused`."""
        if self._closing():
            raise self._closed()
        assert self.transport is not None
        self.transport.write(masked_frame(OP_TEXT, data, self._keys.next()))

    @property
    def writing_paused(self) -> bool:
        """Whether the transport's write buffer is over its high-water mark."""
        return self._paused

    async def drained(self, deadline: float) -> None:
        """Wait until the peer read enough of what was written (`TimeoutError` at `deadline`)."""
        while self._paused and not self._eof:
            drain = self._drain = self.loop.create_future()
            async with asyncio.timeout_at(deadline):
                await drain

    async def recv(self, deadline: float) -> bytes:
        """The next message; see the module docstring."""
        messages = self._messages
        if messages:
            return messages.popleft()
        if self._closing():
            raise self._closed()
        waiter: asyncio.Future[bytes] = self.loop.create_future()
        self._waiter = waiter
        self._arm(deadline)
        try:
            return await waiter
        finally:
            if self._waiter is waiter:  # cancelled
                self._waiter = None

    async def close(self, grace_s: float = 2.0) -> None:
        """Closing handshake (bounded by `grace_s`), then close the connection; idempotent."""
        if self.transport is None:
            return
        if self._close_sent is None and self._close_rcvd is None and not self._eof:
            self._send_close(1000, "")
        if not self._lost.done():
            try:
                async with asyncio.timeout(grace_s):
                    while self._close_rcvd is None and not self._eof:
                        waiter = self._head_waiter = self.loop.create_future()
                        await asyncio.wait([waiter, self._lost], return_when=asyncio.FIRST_COMPLETED)
            except TimeoutError:
                pass
            finally:
                self._head_waiter = None
        self.transport.close()
        if not self._lost.done():
            try:
                async with asyncio.timeout(grace_s):
                    await asyncio.shield(self._lost)
            except TimeoutError:
                self.transport.abort()

    def abort(self) -> None:
        """Drop the connection at once (no closing handshake)."""
        if self.transport is not None:
            self.transport.abort()
