"""WebSocket protocols for uvicorn: `/ws` of an `OpenEnvApp` served straight from the socket.

`BatchedFlowWebSocketProtocol` is uvicorn's sans-I/O protocol with two changes: it pauses reading
only under real backlog (uvicorn stops reading after *every* message, two event-loop registrations
per request) and closes open sessions with 1001 on shutdown (OE-WS-030; uvicorn uses 1012).

`OpenEnvWebSocketProtocol` (what `openenv.server.run` uses) goes further for the app's own `/ws`
sessions. The handshake is still websockets' (`ServerProtocol.accept`); after it, the connection's
bytes go through `transports.wsframes` and each message straight to the session's `SessionHandler`,
started eagerly on the session's `SessionCarrier`; replies are framed onto the transport directly.
No ASGI queue, no `receive`/`send` coroutines, no per-message dicts, no task per request. Requests
of one session run one at a time, in arrival order (later ones wait in a bounded backlog; reading
pauses at `HIGH_WATER` and while the peer is not reading our replies). Everything else — HTTP,
other paths, named-session attaches, capacity refusals, apps wrapped in other ASGI apps — takes the
inherited ASGI path.

Both classes build on uvicorn internals: written for uvicorn 0.54 (the package requires
`uvicorn>=0.54,<0.55`). `compatibility_problem()` says, before serving, whether the installed
uvicorn still has every member they use; `runner.ws_protocol()` falls back to uvicorn's own
`websockets-sansio` protocol (plain ASGI, same session logic) when it does not.
"""

from __future__ import annotations

import ast
import inspect
import logging
from collections import deque
from typing import Any
from urllib.parse import unquote

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as HandshakeRequest

from openenv.protocol.server import Close, Output, Request, Send
from openenv.server import carrier as carriers
from openenv.server.app import OpenEnvApp
from openenv.server.capacity import Slot
from openenv.server.service import EnvService
from openenv.server.watchdog import FINISHED, INFINITY, is_finished
from openenv.server.websocket import SessionHandler
from openenv.transports import wsframes
from openenv.transports.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameFault, FrameReader

TESTED_UVICORN = (0, 54)
"""The uvicorn minor release this module was written against."""
INHERITED = (
    "app",
    "close_sent",
    "close_timeout",
    "close_timer",
    "conn",
    "curr_msg_data_type",
    "default_headers",
    "disconnected",
    "frames",
    "handle_connect",
    "handle_parser_exception",
    "handle_pong",
    "handshake_complete",
    "handshake_initiated",
    "loop",
    "queue",
    "read_paused",
    "request",
    "response",
    "root_path",
    "send_500_response",
    "start_keepalive",
    "stop_keepalive",
    "tasks",
    "transport",
    "writable",
    "data_received",
    "connection_lost",
    "shutdown",
    "pause_writing",
    "resume_writing",
    "send_receive_event_to_app",
    "receive",
)
"""Members of uvicorn's `WebSocketsSansIOProtocol` the classes below use."""

HIGH_WATER = 16
"""Messages waiting for the session before the connection stops being read."""
LOW_WATER = 4
"""Waiting messages below which reading resumes."""

log = logging.getLogger("openenv.server")


def compatibility_problem(base: type = WebSocketsSansIOProtocol, version: str | None = None) -> str | None:
    """Why the installed uvicorn cannot carry these protocols (None when it can): a release other
    than 0.54.x, or an `INHERITED` member missing from `base` (methods, or attributes its methods
    assign)."""
    if version is None:
        import uvicorn

        version = uvicorn.__version__
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts != TESTED_UVICORN:
        return (
            f"uvicorn {version} is not the {TESTED_UVICORN[0]}.{TESTED_UVICORN[1]}.x release this path was written for"
        )
    assigned: set[str] = set()
    for klass in base.__mro__:
        if klass is object:
            continue
        try:
            tree = ast.parse(inspect.getsource(klass))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)):
                continue
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                assigned.add(node.attr)
    missing = [name for name in INHERITED if not hasattr(base, name) and name not in assigned]
    if missing:
        return f"uvicorn {version}'s WebSocketsSansIOProtocol lacks {', '.join(missing)}"
    return None


class BatchedFlowWebSocketProtocol(WebSocketsSansIOProtocol):
    """`WebSocketsSansIOProtocol` that pauses reading only under real backlog and closes open
    sessions with 1001 (Going Away) when the server shuts down (OE-WS-030; uvicorn uses 1012)."""

    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent:
            super().shutdown()
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1001})
        self.conn.send_close(1001, "server shutting down")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()

    def send_receive_event_to_app(self) -> None:
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return  # past `websocket.close`: the peer's close reply is all that matters now
        if self.curr_msg_data_type == "text":
            try:
                text = data.decode()
            except UnicodeDecodeError:
                self.conn.send_close(1007)  # invalid UTF-8 in a text message (RFC 6455 §8.1)
                self.handle_parser_exception()
                return
            self.queue.put_nowait({"type": "websocket.receive", "text": text})
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        if not self.read_paused and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() <= LOW_WATER:
            self.read_paused = False
            self.transport.resume_reading()
        return message


def find_service(app: Any) -> EnvService | None:
    """The service of the `OpenEnvApp` under uvicorn's own wrappers (proxy headers, message
    logger), if any."""
    for _ in range(4):
        if isinstance(app, OpenEnvApp):
            return app.service
        app = getattr(app, "app", None)
    return None


class OpenEnvWebSocketProtocol(BatchedFlowWebSocketProtocol):
    """Serves the `/ws` sessions of an `OpenEnvApp` without the ASGI layer (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = find_service(self.app)
        self.handler: SessionHandler | None = None
        self.reader: FrameReader | None = None
        self.carrier: carriers.SessionCarrier | None = None
        self.backlog: deque[tuple[str | bytes, bool]] = deque()
        self.busy = False
        self.write_blocked = False
        self.idle_deadline = FINISHED
        self.idle_timeout = self.service.config.idle_timeout_s if self.service is not None else 0.0

    # -- handshake ---------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        # uvicorn's HTTP protocol hands over the upgrade request alone (rebuilt from its parsed
        # headers), so after the handshake every byte that arrives is WebSocket frames.
        if self.reader is not None:
            self._frames_received(data)
        else:
            super().data_received(data)

    def handle_connect(self, event: HandshakeRequest) -> None:
        service = self.service
        raw_path, _, query = event.path.partition("?")
        if (
            service is None
            or self.root_path + unquote(raw_path) != "/ws"
            or "session_id=" in query
            or not service.capacity.available()
        ):
            super().handle_connect(event)  # refusals, named attaches and other paths: over ASGI
            return
        self.request = event
        self.response = response = self.conn.accept(event)
        self.handshake_initiated = True
        if response.status_code != 101:  # not a valid upgrade: websockets' own error response
            self.handshake_complete = True
            self.close_sent = True
            self.conn.send_response(response)
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
            return
        offered: list[str] = []
        for header in event.headers.get_all("Sec-WebSocket-Protocol"):
            offered.extend(token.strip() for token in header.split(","))
        slot: Slot | None = service.capacity.acquire()
        assert slot is not None  # available() was true just above, on the same loop
        try:
            handler = SessionHandler(service, offered, query.encode("latin-1"), slot=slot)
            outputs = handler.open()
        except Exception:
            log.exception("session failed to open")
            slot.release()
            self.send_500_response()
            self.transport.close()
            return
        self.handler = handler
        self.reader = FrameReader(service.config.max_message_bytes)
        self.carrier = carriers.SessionCarrier(self.loop, adopt=carriers.ADOPTION)
        self.tasks.add(self.carrier.task)
        self.carrier.task.add_done_callback(self.tasks.discard)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self.default_headers]
        headers.append(("x-openenv-session-id", handler.session_id))
        if handler.subprotocol:
            headers.append(("Sec-WebSocket-Protocol", handler.subprotocol))
        del response.headers["Date"]
        response.headers.update(headers)
        self.handshake_complete = True
        self.conn.send_response(response)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.start_keepalive()
        self._write(outputs)
        if not handler.closed:
            watchdog = service.watchdog
            watchdog.ensure_running()
            self.idle_deadline = self.loop.time() + self.idle_timeout
            watchdog.watch(self)

    # -- inbound -----------------------------------------------------------------------------------
    def _frames_received(self, data: bytes) -> None:
        reader = self.reader
        assert reader is not None
        for opcode, payload in reader.feed(data):
            if opcode == OP_TEXT:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:  # invalid UTF-8 in a text message (RFC 6455 §8.1)
                    self._fail(FrameFault(wsframes.INVALID_DATA, "invalid UTF-8 in a text message"))
                    return
                self._message(text, False)
            elif opcode == OP_BINARY:
                self._message(payload, True)
            elif opcode == OP_PING:
                if not self.close_sent:
                    self.transport.write(wsframes.frame(OP_PONG, payload))
            elif opcode == OP_PONG:
                self.handle_pong(Frame(Opcode.PONG, payload))
            elif opcode == OP_CLOSE:
                self._close_received(payload)
                return
        if reader.fault is not None:
            self._fail(reader.fault)

    def _message(self, raw: str | bytes, binary: bool) -> None:
        handler = self.handler
        assert handler is not None and self.carrier is not None
        if self.close_sent or handler.closed:
            return
        if self.busy:
            self.backlog.append((raw, binary))
            if len(self.backlog) >= HIGH_WATER:
                self._reading(False)
            return
        outcome = handler.receive(raw, binary=binary)
        if isinstance(outcome, list):  # answered without the environment (a frame error)
            self._write(outcome)
            return
        self.busy = True
        self.idle_deadline = INFINITY  # a request is running (OE-LIM-009)
        self.carrier.start(self._serve(outcome))

    async def _serve(self, request: Request | None) -> None:
        """Perform `request`, then whatever arrived meanwhile, in order."""
        handler = self.handler
        assert handler is not None
        backlog = self.backlog
        try:
            while request is not None:
                self._write(await handler.perform(request))
                request = None
                while request is None and backlog and not handler.closed and not self.disconnected:
                    if self.write_blocked:
                        await self.writable.wait()  # the peer is not reading: hold the next request
                        continue
                    raw, binary = backlog.popleft()
                    if len(backlog) <= LOW_WATER:
                        self._reading(True)
                    outcome = handler.receive(raw, binary=binary)
                    if isinstance(outcome, list):
                        self._write(outcome)
                    else:
                        request = outcome
        except Exception:  # a bug below the handler: end this session only
            log.exception("session failed")
            self._write([Close(1011, "internal error")])
        finally:
            self.busy = False
        if self.disconnected:
            await self._finish()
        elif not handler.closed:
            self.idle_deadline = self.loop.time() + self.idle_timeout

    async def _finish(self) -> None:
        assert self.handler is not None and self.carrier is not None
        try:
            await self.handler.finish()
        finally:
            self.carrier.stop()

    def _close_received(self, payload: bytes) -> None:
        if self.close_sent:  # the peer answered our close: the closing handshake is complete
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.transport.close()
            return
        parsed = wsframes.parse_close(payload)
        if isinstance(parsed, FrameFault):
            self._fail(parsed)
            return
        self.close_sent = True
        self.transport.write(wsframes.frame(OP_CLOSE, payload))  # echo the peer's status
        self.transport.close()

    def _fail(self, fault: FrameFault) -> None:
        """End the connection for a framing fault: an oversized message gets the session's answer
        (OE-LIM-005/006), a protocol violation a close with its RFC 6455 code."""
        handler = self.handler
        assert handler is not None
        if fault.code == wsframes.MESSAGE_TOO_BIG and not handler.closed:
            self._write(handler.too_large(fault.size))
            return
        if not self.close_sent:
            self.close_sent = True
            self.transport.write(wsframes.close_frame(fault.code, fault.reason))
        self.transport.close()

    def _reading(self, on: bool) -> None:
        if on == self.read_paused and not self.transport.is_closing():
            self.read_paused = not on
            if on:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    # -- outbound ----------------------------------------------------------------------------------
    def _write(self, outputs: list[Output]) -> None:
        """Frame `outputs` onto the transport; after a close, nothing more is sent (OE-WS-031)."""
        if self.close_sent or self.transport.is_closing() or not outputs:
            return
        frames: list[bytes] = []
        for output in outputs:
            if type(output) is Send:
                frames.append(wsframes.frame(OP_TEXT, output.data))
            else:
                assert isinstance(output, Close)
                frames.append(wsframes.close_frame(output.code, output.reason))
                self.close_sent = True
                self.idle_deadline = INFINITY
                self.backlog.clear()
                self._reading(True)  # the peer's close reply must still be read
                self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
                break
        self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.handler is not None:
            self.write_blocked = True
            self._reading(False)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.handler is not None:
            self.write_blocked = False
            if len(self.backlog) <= LOW_WATER:
                self._reading(True)

    # -- Watched: the app's watchdog ends a session idle for too long ------------------------------
    def deadline(self) -> float:
        return self.idle_deadline

    def expire(self) -> None:
        handler = self.handler
        if handler is not None and not self.busy and not handler.closed:
            self._write(handler.idle_close())

    # -- the end -----------------------------------------------------------------------------------
    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.handler is None or self.carrier is None:
            return
        if not is_finished(self.idle_deadline):  # still watched
            self.idle_deadline = FINISHED
            assert self.service is not None
            self.service.watchdog.forget(self)
        self.backlog.clear()
        if not self.busy:
            self.busy = True
            self.carrier.start(self._finish())

    def shutdown(self) -> None:
        handler = self.handler
        if handler is None or self.close_sent or not self.handshake_complete:
            super().shutdown()
            return
        self.stop_keepalive()
        self._write(handler.shutdown_close())
        self.transport.close()
