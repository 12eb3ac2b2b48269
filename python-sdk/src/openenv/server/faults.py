"""The server branch of the exception tree, and the one place where exceptions become wire errors.

`openenv.errors.ServerError` — raised on the server side:

* `EnvironmentFault` — raised by environment code to send its message to the client verbatim
  (`EXECUTION_ERROR`).
* `InvalidRequest` — a request the runtime rejects before it reaches the environment
  (`VALIDATION_ERROR`, HTTP 422); `errors` holds the per-field entries.
* `ToolCallFailed` — a tool call that did not run (unknown tool, invalid arguments); an MCP
  observation with `error`, or JSON-RPC `-32602`.
* `StepTimedOut` — an environment call outlived the step timeout; the instance is abandoned
  (`STEP_TIMEOUT`, HTTP 504).
* `CapacityExhausted` — no session slot is free (`CAPACITY_REACHED`, HTTP 503 + `Retry-After`).

Everything the server sends as an `error` frame or an HTTP error body for a failed operation passes
through `to_wire()`. Anything else the environment raises is `EXECUTION_ERROR` (OE-ERR-009),
reported by exception class name and logged in full on the server (OE-SEC-003).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pydantic

from openenv.errors import ServerError
from openenv.protocol import ErrorCode

log = logging.getLogger("openenv.server")

MAX_MESSAGE_CHARS = 500
MAX_ERROR_ENTRIES = 50


class EnvironmentFault(ServerError):
    """Raise from environment code to send `message` to the client verbatim as `EXECUTION_ERROR`."""


class StepTimedOut(ServerError):
    """An environment call exceeded the step timeout; the instance must not be used again."""


class ToolCallFailed(ServerError):
    """A tool call that did not run: unknown tool (`tool_not_found`) or bad arguments (`invalid_args`)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class CapacityExhausted(ServerError):
    """Every session slot is taken (`active` of `maximum`)."""

    def __init__(self, active: int, maximum: int) -> None:
        super().__init__(f"server at capacity: {active}/{maximum} sessions active")
        self.active = active
        self.maximum = maximum


class InvalidRequest(ServerError):
    """A request the server rejects before it reaches the environment (`VALIDATION_ERROR`)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def from_pydantic(cls, exc: pydantic.ValidationError, message: str = "Invalid message") -> InvalidRequest:
        return cls(message, validation_entries(exc))

    def located(self, prefix: list[str | int]) -> list[dict[str, Any]]:
        """The entries with `prefix` prepended to every `loc`."""
        return [{**e, "loc": [*prefix, *e.get("loc", [])]} for e in self.errors]


@dataclass(slots=True, frozen=True)
class WireError:
    """An error as it goes on the wire."""

    code: ErrorCode
    message: str
    details: dict[str, Any]
    http_status: int


def validation_entries(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as wire entries (`type`, `loc`, `msg`, `input`), version-neutral (no URLs)."""
    entries = []
    for item in exc.errors(include_url=False, include_context=False)[:MAX_ERROR_ENTRIES]:
        entries.append(
            {
                "type": item["type"],
                "loc": list(item["loc"]),
                "msg": item["msg"],
                "input": item.get("input"),
            }
        )
    return entries


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def to_wire(
    exc: BaseException,
    operation: str,
    *,
    loc_prefix: list[str | int] | None = None,
    factory_name: str = "",
) -> WireError:
    """Map an exception raised while serving `operation` (reset/step/state/mcp/factory)."""
    if isinstance(exc, InvalidRequest):
        errors = exc.located(loc_prefix or [])
        return WireError(ErrorCode.VALIDATION_ERROR, _clip(str(exc)), {"errors": errors}, 422)
    if operation == "factory":
        log.error("environment factory failed", exc_info=exc)
        return WireError(
            ErrorCode.FACTORY_ERROR,
            f"the environment could not be created ({type(exc).__name__})",
            {"factory_name": factory_name},
            500,
        )
    if isinstance(exc, EnvironmentFault):
        return WireError(ErrorCode.EXECUTION_ERROR, _clip(str(exc)), {}, 500)
    log.error("environment %s failed", operation, exc_info=exc)
    return WireError(
        ErrorCode.EXECUTION_ERROR,
        f"{operation} failed in the environment ({type(exc).__name__})",
        {},
        500,
    )
