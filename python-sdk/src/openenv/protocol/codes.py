"""Protocol constants: modes, the subprotocol name, error codes and WebSocket close codes."""

from __future__ import annotations

import enum
from typing import Final

SUBPROTOCOL_V1: Final = "openenv.v1"
"""The WebSocket subprotocol that switches a session into v1 mode."""


class Mode(enum.Enum):
    """Which level of protocol 1 a session speaks."""

    BASE = "base"
    """The level `openenv==0.10.0` speaks: no ids, no hello, no episode enforcement."""
    V1 = "v1"
    """Negotiated with the `openenv.v1` subprotocol: ids, hello, terminated/truncated, limits."""


class ErrorCode(enum.StrEnum):
    """Every error code of the `error` frame (`schemas/ErrorCode.schema.json`)."""

    INVALID_JSON = "INVALID_JSON"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    CAPACITY_REACHED = "CAPACITY_REACHED"
    FACTORY_ERROR = "FACTORY_ERROR"
    SESSION_ERROR = "SESSION_ERROR"
    EPISODE_NOT_STARTED = "EPISODE_NOT_STARTED"
    EPISODE_ENDED = "EPISODE_ENDED"
    STEP_TIMEOUT = "STEP_TIMEOUT"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    IDLE_TIMEOUT = "IDLE_TIMEOUT"


BASE_ERROR_CODES: Final = frozenset(
    {
        ErrorCode.INVALID_JSON,
        ErrorCode.UNKNOWN_TYPE,
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.EXECUTION_ERROR,
        ErrorCode.CAPACITY_REACHED,
        ErrorCode.FACTORY_ERROR,
        ErrorCode.SESSION_ERROR,
    }
)
"""Codes a base-mode peer may receive (the seven of 0.10)."""

V1_ERROR_CODES: Final = frozenset(ErrorCode) - BASE_ERROR_CODES
"""Codes only ever sent in v1 mode."""


class CloseCode(enum.IntEnum):
    """WebSocket close codes (RFC 6455 §7.4.1) used by OpenEnv servers."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


CLOSE_CODE_FOR: Final[dict[ErrorCode, CloseCode]] = {
    ErrorCode.SESSION_ERROR: CloseCode.POLICY_VIOLATION,
    ErrorCode.MESSAGE_TOO_LARGE: CloseCode.MESSAGE_TOO_BIG,
    ErrorCode.FACTORY_ERROR: CloseCode.INTERNAL_ERROR,
    ErrorCode.STEP_TIMEOUT: CloseCode.INTERNAL_ERROR,
    ErrorCode.CAPACITY_REACHED: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.IDLE_TIMEOUT: CloseCode.GOING_AWAY,
}
"""The close code a v1 server uses after an error frame with this code (base mode: always 1000)."""


def is_finite_number(value: float) -> bool:
    """Whether a reward is a finite number (not NaN or ±inf): `x - x` is 0 exactly for those."""
    return value - value == 0
