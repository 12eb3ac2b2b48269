"""The one exception tree of the OpenEnv SDK.

* `OpenEnvError` — root; never raised directly.
    * `LocalError` — the caller did something the SDK refuses before anything is sent.
        * `ClientClosedError` — the client was closed or never opened.
        * `InvalidActionError` — an action could not be serialised to a JSON object.
    * `RemoteError` — the server answered with an `error` frame (`code`, `message`, `details`).
        * one subclass per wire code: `InvalidJsonError`, `UnknownTypeError`,
          `RemoteValidationError`, `ExecutionError`, `CapacityReachedError`, `FactoryError`,
          `SessionError`, `EpisodeNotStartedError`, `EpisodeEndedError`, `StepTimeoutError`,
          `MessageTooLargeError`, `IdleTimeoutError`.
    * `RemoteProtocolError` — the server sent something the protocol does not allow.
    * `TransportError` — moving bytes failed.
        * `ConnectError` — the connection could not be opened (refused, handshake rejected).
        * `SessionLostError` — an open session's connection dropped; its episode is gone. The
          SDK never silently opens a new session in its place.
        * `RequestTimeoutError` — no reply within the client's timeout; the session is unusable.
    * `ServerError` — raised on the server side, by environment code or by the runtime; the
      runtime turns each into a wire error in exactly one place (`openenv.server.faults.to_wire`).
      Its subclasses live in `openenv.server.faults`, where the branch is drawn in full.

`RemoteError.from_wire` is the only place wire error codes become exceptions; `to_wire` is the only
place exceptions become wire errors.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "CapacityReachedError",
    "ClientClosedError",
    "ConnectError",
    "EpisodeEndedError",
    "EpisodeNotStartedError",
    "ExecutionError",
    "FactoryError",
    "IdleTimeoutError",
    "InvalidActionError",
    "InvalidJsonError",
    "LocalError",
    "MessageTooLargeError",
    "OpenEnvError",
    "RemoteError",
    "RemoteProtocolError",
    "RemoteValidationError",
    "RequestTimeoutError",
    "ServerError",
    "SessionError",
    "SessionLostError",
    "StepTimeoutError",
    "TransportError",
    "UnknownTypeError",
]


class OpenEnvError(Exception):
    """Root of every error the SDK raises."""


class LocalError(OpenEnvError):
    """The caller asked for something the SDK refuses locally."""


class ClientClosedError(LocalError):
    """The client is closed (or was never opened)."""


class InvalidActionError(LocalError, ValueError):
    """An action could not be turned into a JSON object."""


class RemoteProtocolError(OpenEnvError):
    """The peer sent something the protocol does not allow."""


class TransportError(OpenEnvError):
    """Moving bytes failed."""


class ConnectError(TransportError):
    """The connection could not be opened."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = body


class SessionLostError(TransportError):
    """The connection of an open session dropped; the episode on the server is gone."""

    def __init__(self, message: str, *, close_code: int | None = None, reason: str = ""):
        super().__init__(message)
        self.close_code = close_code
        self.reason = reason


class RequestTimeoutError(TransportError, TimeoutError):
    """No reply arrived in time; the session was closed because a late reply could be misread."""


class ServerError(OpenEnvError):
    """Raised on the server side (environment code or the runtime); see `openenv.server.faults`."""


class RemoteError(OpenEnvError):
    """The server answered with an `error` frame."""

    code: ClassVar[str] = ""
    _by_code: ClassVar[dict[str, type[RemoteError]]] = {}

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}
        if code is not None:
            self.code = code  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code:
            RemoteError._by_code[cls.code] = cls

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> RemoteError:
        """Build the exception for the `data` object of an `error` frame."""
        code = str(data.get("code", ""))
        message = str(data.get("message", ""))
        details = {k: v for k, v in data.items() if k not in ("code", "message")}
        subclass = cls._by_code.get(code)
        if subclass is None:
            return RemoteError(message, code=code, details=details)
        return subclass(message, details=details)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field problems reported with a `VALIDATION_ERROR` (empty otherwise)."""
        value = self.details.get("errors")
        return value if isinstance(value, list) else []


class InvalidJsonError(RemoteError):
    code = "INVALID_JSON"


class UnknownTypeError(RemoteError):
    code = "UNKNOWN_TYPE"


class RemoteValidationError(RemoteError, ValueError):
    code = "VALIDATION_ERROR"


class ExecutionError(RemoteError):
    code = "EXECUTION_ERROR"


class CapacityReachedError(RemoteError):
    code = "CAPACITY_REACHED"


class FactoryError(RemoteError):
    code = "FACTORY_ERROR"


class SessionError(RemoteError):
    code = "SESSION_ERROR"


class EpisodeNotStartedError(RemoteError):
    code = "EPISODE_NOT_STARTED"


class EpisodeEndedError(RemoteError):
    code = "EPISODE_ENDED"


class StepTimeoutError(RemoteError):
    code = "STEP_TIMEOUT"


class MessageTooLargeError(RemoteError):
    code = "MESSAGE_TOO_LARGE"


class IdleTimeoutError(RemoteError):
    code = "IDLE_TIMEOUT"
