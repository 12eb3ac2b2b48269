"""A raw WebSocket peer for server tests: send frames, read frames and closes, no SDK client involved."""

from __future__ import annotations

from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class Peer:
    """A raw `/ws` connection with helpers that read exactly one frame per call."""

    def __init__(self, url: str, *, v1: bool = False, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.ws: ClientConnection = connect(
            url,
            subprotocols=["openenv.v1"] if v1 else None,
            compression=None,
            max_size=None,
            open_timeout=5,
            legacy=True,
        )
        self.hello: dict[str, Any] | None = self.recv() if v1 else None

    def send(self, frame: Any) -> None:
        self.ws.send(frame if isinstance(frame, str | bytes) else orjson.dumps(frame).decode())

    def recv(self) -> dict[str, Any]:
        return orjson.loads(self.ws.recv(timeout=self.timeout))

    def ask(self, frame: Any) -> dict[str, Any]:
        self.send(frame)
        return self.recv()

    def closed_with(self) -> int | None:
        """Wait for the server's close; the close code it sent."""
        try:
            while True:
                self.ws.recv(timeout=self.timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
