"""Sans-I/O OpenEnv protocol core.

This package knows the wire format and the per-session state machines of both roles. It performs no
I/O, starts no tasks and reads no clocks: transports feed it text/bytes and send what it returns.
"""

from openenv.protocol.codes import (
    BASE_ERROR_CODES,
    SUBPROTOCOL_V1,
    V1_ERROR_CODES,
    CloseCode,
    ErrorCode,
    Mode,
)
from openenv.protocol.errors import FrameError

__all__ = [
    "BASE_ERROR_CODES",
    "SUBPROTOCOL_V1",
    "V1_ERROR_CODES",
    "CloseCode",
    "ErrorCode",
    "FrameError",
    "Mode",
]
