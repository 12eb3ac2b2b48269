"""uvicorn's sans-I/O WebSocket protocol with batched flow control and a 1001 shutdown close.

uvicorn stops reading a connection after *every* inbound message and resumes when the app has
taken it, which costs two event-loop registrations per request. An OpenEnv session answers one
frame at a time, so the queue rarely holds more than one message: this subclass stops reading only
when `HIGH_WATER` messages are waiting and resumes below `LOW_WATER`, which keeps memory bounded
(OE-LIM-015) without the per-message cost. Written for uvicorn 0.54's
`WebSocketsSansIOProtocol` (pinned in requirements/dev.txt); everything else is inherited.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HIGH_WATER = 16
"""Messages queued for the app before the connection stops being read."""
LOW_WATER = 4
"""Queued messages below which reading resumes."""


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
