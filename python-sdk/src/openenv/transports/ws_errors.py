"""Where `websockets` exceptions become SDK errors (`handshake_error`, `session_errors`), for both clients."""

from __future__ import annotations

from types import TracebackType

import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from openenv.errors import ConnectError, RemoteError, SessionLostError


def handshake_error(exc: BaseException, url: str) -> Exception:
    """Map a failure to open `url`; an HTTP 503 with an `error` frame body becomes its RemoteError."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = bytes(response.body or b"")
        try:
            frame = orjson.loads(body)
        except orjson.JSONDecodeError:
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "error" and isinstance(frame.get("data"), dict):
            error = RemoteError.from_wire(frame["data"])
            retry_after = response.headers.get("Retry-After")
            if retry_after is not None:
                error.details.setdefault("retry_after", retry_after)
            return error
        return ConnectError(
            f"server refused the WebSocket upgrade at {url}: HTTP {response.status_code}",
            status=response.status_code,
            body=body[:500].decode(errors="replace"),
        )
    if isinstance(exc, InvalidHandshake):
        return ConnectError(f"WebSocket handshake with {url} failed: {exc}")
    if isinstance(exc, TimeoutError):
        return ConnectError(f"timed out connecting to {url}")
    return ConnectError(f"cannot connect to {url}: {exc}")


def lost(exc: ConnectionClosed) -> SessionLostError:
    frame = exc.rcvd
    code = frame.code if frame else None
    reason = frame.reason if frame else ""
    detail = f" (close code {code}{': ' + reason if reason else ''})" if code else ""
    return SessionLostError(
        f"the session's connection closed{detail}; its episode is gone",
        close_code=code,
        reason=reason,
    )


class _SessionErrors:
    """Context manager behind `session_errors()` (a class: cheaper per request than a generator)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, TimeoutError):
            return
        if isinstance(exc, ConnectionClosed):
            raise lost(exc) from None
        if isinstance(exc, OSError):
            raise SessionLostError(f"the session's connection failed: {exc}") from None


_SESSION_ERRORS = _SessionErrors()


def session_errors() -> _SessionErrors:
    """Re-raise connection loss during a request as `SessionLostError` (timeouts pass through)."""
    return _SESSION_ERRORS
