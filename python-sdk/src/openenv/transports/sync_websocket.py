"""A blocking WebSocket client transport on a plain socket: no event loop, no background thread.

The opening handshake is `websockets`' sans-I/O `ClientProtocol` (request, `Sec-WebSocket-Accept`
and subprotocol checks, error responses with their bodies). After a `101`, the connection's bytes
are framed by `transports.wsframes` (the client role: unmasked frames in, masked frames out):
`recv()` reads the socket in the caller's thread until a message is complete, answering pings and
the peer's close on the way. This is what the sync client runs on. Failures surface as `websockets`
exceptions (`InvalidStatus`, `InvalidHandshake`, `ConnectionClosed` with the close frames seen,
`TimeoutError`, `OSError`), mapped to SDK errors by the caller.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import time
from collections import deque

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

READ_SIZE = 65536
MAX_RESPONSE_HEAD = 65536
"""Bytes of handshake response read while looking for the end of its headers."""
_NO_LIMIT = 1 << 62
_OK_CODES = (1000, 1001)
_HEAD_END = b"\r\n\r\n"
_SLACK = 0.01
"""How far past its deadline a read may block (seconds) before SO_RCVTIMEO is re-armed."""


def _timeval(seconds: float) -> bytes:
    """A `struct timeval` for SO_RCVTIMEO/SO_SNDTIMEO; never zero (zero means no timeout)."""
    micros = max(1000, int(seconds * 1_000_000))
    return struct.pack("ll", micros // 1_000_000, micros % 1_000_000)


class SyncWebSocket:
    """One client connection. Not thread-safe; the sync client serialises calls."""

    def __init__(
        self, sock: socket.socket, subprotocol: str | None, max_size: int | None, *, send_timeout: float = 10.0
    ) -> None:
        self.sock = sock
        self.subprotocol = subprotocol
        self._reader = FrameReader(max_size if max_size is not None else _NO_LIMIT, masked=False)
        self._keys = MaskKeys()
        self._messages: deque[str] = deque()
        self._close_rcvd: Close | None = None
        self._close_sent: Close | None = None
        self._rcvd_then_sent: bool | None = None
        self._eof = False
        # Plain TCP: a blocking socket with kernel timeouts (SO_RCVTIMEO/SO_SNDTIMEO), so a read is
        # one recv() system call; a Python-level timeout would poll() before every recv and send.
        self._kernel_timeouts = not isinstance(sock, ssl.SSLSocket)
        self._rcvtimeo: float | None = None
        if self._kernel_timeouts:
            sock.settimeout(None)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(send_timeout))

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        open_timeout: float = 10.0,
        max_size: int | None = None,
    ) -> SyncWebSocket:
        """Open a connection and complete the opening handshake within `open_timeout`."""
        uri = parse_uri(url)
        deadline = time.monotonic() + open_timeout
        sock = socket.create_connection((uri.host, uri.port), timeout=open_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if uri.secure:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=uri.host)
            protocol = ClientProtocol(uri, subprotocols=subprotocols, max_size=max_size)  # type: ignore[arg-type]
            request = protocol.connect()
            for name, value in (headers or {}).items():
                request.headers[name] = value
            protocol.send_request(request)
            sock.sendall(b"".join(protocol.data_to_send()))
            events, rest = _read_response(sock, protocol, deadline)
            if protocol.handshake_exc is not None:
                raise protocol.handshake_exc
            if not events:
                raise InvalidHandshake("connection closed during the opening handshake")
            if not isinstance(events[0], Response):
                raise InvalidHandshake("no handshake response")
            connection = cls(sock, protocol.subprotocol, max_size, send_timeout=open_timeout)
            if rest:
                connection._absorb(rest)  # frames the server sent right after its 101
            return connection
        except TimeoutError:
            sock.close()
            raise TimeoutError("timed out during the opening handshake") from None
        except BaseException:
            sock.close()
            raise

    def send(self, text: str) -> None:
        """Send one text message; `ConnectionClosed` once either side has started closing."""
        if self._close_sent is not None or self._close_rcvd is not None or self._eof:
            raise self._closed()
        try:
            self.sock.sendall(masked_frame(OP_TEXT, text.encode(), self._keys.next()))
        except BlockingIOError:  # SO_SNDTIMEO: the peer stopped reading
            raise TimeoutError("the server is not reading: send timed out") from None

    def recv(self, timeout: float) -> str:
        """The next message (text; a binary one decoded as UTF-8); `TimeoutError` after `timeout`
        s; `ConnectionClosed` once the connection is closing and every earlier message was read."""
        messages = self._messages
        if messages:
            return messages.popleft()
        deadline = time.monotonic() + timeout
        while True:
            if self._close_rcvd is not None or self._close_sent is not None or self._eof:
                raise self._closed()
            data = self._read(deadline)
            if not data:
                self._eof = True
                continue
            self._absorb(data)
            if messages:
                return messages.popleft()

    def _read(self, deadline: float) -> bytes:
        """One `recv()`, bounded by `deadline` (monotonic clock)."""
        sock = self.sock
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message before the timeout")
            if not self._kernel_timeouts:
                sock.settimeout(remaining)
                try:
                    return sock.recv(READ_SIZE)
                except TimeoutError:
                    continue
            # Re-arm SO_RCVTIMEO only when the time left is well under what is armed: a read may
            # then outlast the deadline by at most _SLACK; an early kernel timeout just loops.
            armed = self._rcvtimeo
            if armed is None or remaining < armed - _SLACK:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(remaining))
                self._rcvtimeo = remaining
            try:
                return sock.recv(READ_SIZE)
            except BlockingIOError:  # the kernel timeout: check the deadline again
                continue

    def _absorb(self, data: bytes) -> None:
        """Take received bytes: queue messages, answer pings and the peer's close."""
        reader = self._reader
        for opcode, payload in reader.feed(data):
            if opcode in (OP_TEXT, OP_BINARY):
                try:
                    self._messages.append(payload.decode())
                except UnicodeDecodeError:
                    self._fail(FrameFault(1007, "invalid UTF-8 in a message"))
                    return
            elif opcode == OP_PING:
                if self._close_sent is None:
                    self.sock.sendall(masked_frame(OP_PONG, payload, self._keys.next()))
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
                return
            # OP_PONG: nothing to do (this client sends no pings)
        if reader.fault is not None:
            self._fail(reader.fault)

    def _fail(self, fault: FrameFault) -> None:
        """The server broke the protocol: close with the fault's code (RFC 6455 §7.1.7)."""
        if self._close_sent is None:
            with contextlib.suppress(OSError):
                self._send_close(fault.code, fault.reason)
        self._eof = True

    def _send_close(self, code: int | None, reason: str) -> None:
        body = b"" if code is None else code.to_bytes(2, "big") + reason.encode()[:123]
        self._close_sent = Close(1005 if code is None else code, reason)
        self.sock.sendall(masked_frame(OP_CLOSE, body, self._keys.next()))

    def _closed(self) -> ConnectionClosed:
        """The exception describing the closing handshake so far."""
        rcvd, sent = self._close_rcvd, self._close_sent
        ok = rcvd is not None and sent is not None and rcvd.code in _OK_CODES and sent.code in _OK_CODES
        kind = ConnectionClosedOK if ok else ConnectionClosedError
        return kind(rcvd, sent, self._rcvd_then_sent)

    def close(self, timeout: float = 2.0) -> None:
        """Closing handshake (bounded), then close the socket; idempotent."""
        with contextlib.suppress(OSError, TimeoutError):
            if self._close_sent is None and self._close_rcvd is None and not self._eof:
                self._send_close(1000, "")
                deadline = time.monotonic() + timeout
                while self._close_rcvd is None and not self._eof:
                    data = self._read(deadline)
                    if not data:
                        break
                    self._absorb(data)
        self.sock.close()


def _read_response(sock: socket.socket, protocol: ClientProtocol, deadline: float) -> tuple[list[object], bytes]:
    """Read the handshake response into `protocol`: its events, and the bytes after a `101`
    response's headers.

    A `101` has no body, so everything after its blank line is WebSocket frames and is kept for
    our reader; any other status goes to `protocol` whole (it reads the body for the error).
    """
    head = b""
    while True:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        data = sock.recv(READ_SIZE)
        if not data:
            protocol.receive_data(head)
            protocol.receive_eof()
            return list(protocol.events_received()), b""
        head += data
        end = head.find(_HEAD_END)
        if end < 0 and len(head) <= MAX_RESPONSE_HEAD:
            continue
        if end >= 0 and head.startswith((b"HTTP/1.1 101 ", b"HTTP/1.0 101 ")):
            protocol.receive_data(head[: end + len(_HEAD_END)])
            return list(protocol.events_received()), head[end + len(_HEAD_END) :]
        break
    protocol.receive_data(head)  # not a 101 (or no end of headers): websockets reads the rest
    while True:
        events = protocol.events_received()
        if events:
            return list(events), b""
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        data = sock.recv(READ_SIZE)
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
            return list(protocol.events_received()), b""
