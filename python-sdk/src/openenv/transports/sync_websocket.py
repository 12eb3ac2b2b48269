"""A blocking WebSocket client transport: `websockets`' sans-I/O `ClientProtocol` on a plain socket.

No event loop and no background thread: `recv()` reads the socket in the caller's thread until a
text message is complete, answering pings on the way. This is what the sync client runs on.
Failures surface as `websockets` exceptions (`InvalidStatus`, `InvalidHandshake`,
`ConnectionClosed`, `TimeoutError`, `OSError`), mapped to SDK errors by the caller.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections import deque

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from openenv.transports.wsframes import OP_TEXT, MaskKeys, masked_frame

READ_SIZE = 65536
_ENDING = (State.CLOSING, State.CLOSED)


class SyncWebSocket:
    """One client connection. Not thread-safe; the sync client serialises calls."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self.subprotocol: str | None = protocol.subprotocol
        self._frames: deque[Frame] = deque()
        self._parts: list[bytes] = []
        self._keys = MaskKeys()

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
            while True:
                events = protocol.events_received()
                if events:
                    break
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                data = sock.recv(READ_SIZE)
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                    events = protocol.events_received()
                    if not events:
                        raise InvalidHandshake("connection closed during the opening handshake")
                    break
            if protocol.handshake_exc is not None:
                raise protocol.handshake_exc
            if not isinstance(events[0], Response):
                raise InvalidHandshake("no handshake response")
            connection = cls(sock, protocol)
            connection._frames.extend(e for e in events[1:] if isinstance(e, Frame))
            return connection
        except TimeoutError:
            sock.close()
            raise TimeoutError("timed out during the opening handshake") from None
        except BaseException:
            sock.close()
            raise

    def send(self, text: str) -> None:
        """Send one text message; `ConnectionClosed` once the peer has started closing."""
        if self.protocol.state is not State.OPEN:
            raise self._closed()
        # A complete text frame needs nothing from the protocol object but its state: framed here.
        self.sock.sendall(masked_frame(OP_TEXT, text.encode(), self._keys.next()))

    def recv(self, timeout: float) -> str:
        """The next text message; raises `TimeoutError` after `timeout` s, `ConnectionClosed` on close."""
        deadline = time.monotonic() + timeout
        while True:
            while self._frames:
                frame = self._frames.popleft()
                message = self._take(frame)
                if message is not None:
                    return message
            if self.protocol.state in _ENDING and self.protocol.close_rcvd is not None:
                raise self._closed()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message before the timeout")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(READ_SIZE)
            except TimeoutError:
                raise TimeoutError("no message before the timeout") from None
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            self._frames.extend(e for e in self.protocol.events_received() if isinstance(e, Frame))
            self._flush()  # pongs and close replies
            if not data and not self._frames:
                raise self._closed()

    def _closed(self) -> ConnectionClosed:
        """The exception describing the closing handshake so far."""
        protocol = self.protocol
        if protocol.state.name == "CLOSED":
            return protocol.close_exc
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        return ConnectionClosed(rcvd, sent, True if rcvd is not None and sent is not None else None)

    def _take(self, frame: Frame) -> str | None:
        """Accumulate data frames; the message text when one is complete."""
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
            self._parts = [bytes(frame.data)]
        elif frame.opcode is Opcode.CONT:
            self._parts.append(bytes(frame.data))
        elif frame.opcode is Opcode.CLOSE:
            raise self._closed()
        else:
            return None
        if not frame.fin:
            return None
        payload, self._parts = b"".join(self._parts), []
        return payload.decode()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data:
            self.sock.sendall(b"".join(data))

    def close(self, timeout: float = 2.0) -> None:
        """Closing handshake (bounded), then close the socket; idempotent."""
        with contextlib.suppress(OSError, ConnectionClosed, TimeoutError):
            if self.protocol.state.name == "OPEN":
                self.protocol.send_close(1000)
                self._flush()
                deadline = time.monotonic() + timeout
                while self.protocol.state.name != "CLOSED" and time.monotonic() < deadline:
                    self.sock.settimeout(max(0.001, deadline - time.monotonic()))
                    data = self.sock.recv(READ_SIZE)
                    if not data:
                        break
                    self.protocol.receive_data(data)
                    self.protocol.events_received()
                    self._flush()
        self.sock.close()
