"""Errors the protocol core detects in inbound frames.

A `FrameError` is not raised to users: the server core turns it into an `error` frame (and, when
`fatal`, a close), the client core into a `RemoteProtocolError`.
"""

from __future__ import annotations

from typing import Any

from openenv.errors import OpenEnvError
from openenv.protocol.codes import ErrorCode


class FrameError(OpenEnvError):
    """An inbound frame the core cannot accept.

    Attributes:
        code: the wire error code that describes the problem.
        message: a one-line, client-safe description.
        details: extra `data` keys of the error frame (e.g. `errors`).
        request_id: the frame's `id` when it could be read (v1), so the reply can echo it.
        fatal: the session cannot continue (the server closes after the error frame).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        request_id: str | int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id
        self.fatal = fatal
