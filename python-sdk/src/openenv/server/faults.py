"""The one place where exceptions become wire errors.

Everything the server sends as an `error` frame or an HTTP error body for a failed operation passes
through `to_wire()`. Requests the server itself rejects are `InvalidRequest` (`VALIDATION_ERROR`);
anything the environment raises is `EXECUTION_ERROR` (OE-ERR-009) — its text reaches the client
only when the environment opted in by raising `EnvironmentFault`; anything else is reported by
exception class name and logged in full on the server (OE-SEC-003).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pydantic

from openenv.protocol import ErrorCode

log = logging.getLogger("openenv.server")

MAX_MESSAGE_CHARS = 500
MAX_ERROR_ENTRIES = 50


class EnvironmentFault(Exception):
    """Raise from environment code to send `message` to the client verbatim as `EXECUTION_ERROR`."""


class InvalidRequest(Exception):
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
