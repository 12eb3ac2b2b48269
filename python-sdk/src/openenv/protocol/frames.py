"""Frame codec: JSON text ⇄ validated envelopes, for both roles.

Envelope rules are those of `schemas/ClientMessage.schema.json` / `ServerMessage.schema.json` (base
level) and their `V1` variants; `python-sdk/tests/protocol/test_frames.py` runs every example and
invalid case of `schemas/` through this module so the two cannot drift apart. JSON is parsed
strictly (RFC 8259: no `NaN`/`Infinity`), encoded compactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import orjson

from openenv.protocol.codes import ErrorCode, Mode
from openenv.protocol.errors import FrameError

RequestId = str | int
MAX_ID_LENGTH: Final = 128
MAX_INTEGER_ID: Final = 2**53 - 1

CLIENT_TYPES: Final = ("reset", "step", "state", "close", "mcp")
SERVER_TYPES: Final = ("observation", "state", "mcp", "error", "session")

_OPTIONAL, _REQUIRED, _FORBIDDEN = 0, 1, 2
_DATA_RULE: Final = {
    "reset": _OPTIONAL,
    "step": _REQUIRED,
    "state": _FORBIDDEN,
    "close": _FORBIDDEN,
    "mcp": _REQUIRED,
}
_EMPTY: Final[dict[str, Any]] = {}


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class ClientFrame:
    """A validated client frame: `type`, its `data` object ({} when absent) and the v1 `id`."""

    type: str
    data: dict[str, Any]
    id: RequestId | None = None


@dataclass(slots=True)  # not frozen: built per frame, and frozen init costs 3x
class ServerFrame:
    """A validated server frame."""

    type: str
    data: dict[str, Any]
    id: RequestId | None = None


def _problem(kind: str, loc: list[str | int], msg: str, value: Any) -> dict[str, Any]:
    """One entry of a `VALIDATION_ERROR`'s `errors` list (type, loc, msg, input)."""
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


def is_valid_id(value: object) -> bool:
    """Whether `value` is a well-formed v1 request id."""
    if isinstance(value, str):
        return 0 < len(value) <= MAX_ID_LENGTH
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 <= value <= MAX_INTEGER_ID
    return False


def parse_json(raw: str | bytes | bytearray | memoryview, *, binary: bool = False) -> Any:
    """Parse one frame's JSON text, raising `FrameError(INVALID_JSON)`."""
    if binary:
        raise FrameError(
            ErrorCode.INVALID_JSON,
            "Invalid JSON: binary frames are not supported; send JSON in a text frame",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError(ErrorCode.INVALID_JSON, f"Invalid JSON: {exc}") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        name = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise FrameError(ErrorCode.INVALID_JSON, f"Invalid JSON: duplicate member name {name!r}")
    return obj


def check_duplicate_members(raw: str | bytes | bytearray | memoryview, parsed: Any) -> None:
    """Raise `FrameError(INVALID_JSON)` when the JSON text `raw` repeats a member name (OE-GEN-014).

    orjson keeps the last occurrence silently. Fast path, all in C: `parsed` re-encoded holds one
    `:` per member it kept plus the colons inside its strings; `raw` holds one per member it wrote
    plus the same string colons. So `raw` having no more colons than the re-encoding proves there
    is no repeat, unless `raw` spells a colon as an escape (`\\u003a`), which the re-encoding
    does not. Only then, or when a repeat is likely, the text is parsed again by the standard
    library with a hook that sees every member (and names the repeated one).
    """
    kept = orjson.dumps(parsed).count(b":")
    if isinstance(raw, str):
        if raw.count(":") <= kept and "\\u003" not in raw:
            return
    else:
        data = bytes(raw) if isinstance(raw, memoryview) else raw
        if data.count(b":") <= kept and b"\\u003" not in data:
            return
    json.loads(raw if not isinstance(raw, memoryview) else bytes(raw), object_pairs_hook=_reject_duplicates)


def decode_client_frame(raw: str | bytes, mode: Mode, *, binary: bool = False) -> ClientFrame:
    """Validate one client frame (server role).

    A frame that repeats a member name is `INVALID_JSON` (OE-GEN-014; `check_duplicate_members`).

    Raises:
        FrameError: `INVALID_JSON`, `UNKNOWN_TYPE` or `VALIDATION_ERROR`, with the frame's `id`
            attached when it is readable (v1), never fatal.
    """
    obj = parse_json(raw, binary=binary)
    check_duplicate_members(raw, obj)
    if type(obj) is not dict:
        raise FrameError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid message: a frame must be a JSON object",
            details={"errors": [_problem("dict_type", [], "Input should be an object", obj)]},
        )
    request_id: RequestId | None = None
    allowed_id = mode is Mode.V1 and "id" in obj
    if allowed_id:
        candidate = obj["id"]
        if not is_valid_id(candidate):
            raise FrameError(
                ErrorCode.VALIDATION_ERROR,
                f"Invalid message: 'id' must be a string of 1-128 characters or an integer 0..{MAX_INTEGER_ID}",
                details={"errors": [_problem("id_type", ["id"], "Invalid request id", candidate)]},
            )
        request_id = candidate
    kind = obj.get("type")
    rule = _DATA_RULE.get(kind) if type(kind) is str else None
    if rule is None:
        shown = "" if kind is None else kind
        raise FrameError(ErrorCode.UNKNOWN_TYPE, f"Unknown message type: {shown}", request_id=request_id)
    data = obj.get("data", _EMPTY)
    if rule != _FORBIDDEN and len(obj) == 2 + allowed_id and type(data) is dict and "data" in obj:
        return ClientFrame(kind, data, request_id)  # type: ignore[arg-type]  # the usual {type, [id,] data}
    problems: list[dict[str, Any]] = []
    for key in obj:
        if key == "type" or (key == "data" and rule != _FORBIDDEN) or (key == "id" and allowed_id):
            continue
        problems.append(_problem("extra_forbidden", [key], "Extra inputs are not permitted", obj[key]))
    if rule == _REQUIRED and "data" not in obj:
        problems.append(_problem("missing", ["data"], "Field required", obj))
    elif rule != _FORBIDDEN and type(data) is not dict:
        problems.append(_problem("dict_type", ["data"], "Input should be an object", data))
    if problems:
        raise FrameError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid message",
            details={"errors": problems},
            request_id=request_id,
        )
    return ClientFrame(kind, data, request_id)  # type: ignore[arg-type]


def decode_server_frame(raw: str | bytes, mode: Mode) -> ServerFrame:
    """Validate one server frame (client role).

    Raises:
        FrameError: the frame is not JSON, not an object, of an unknown type, or its `data` is
            not an object; `code` says which. The client reports it as a protocol violation.
    """
    obj = parse_json(raw)
    if type(obj) is not dict:
        raise FrameError(ErrorCode.VALIDATION_ERROR, "server frame is not a JSON object")
    kind = obj.get("type")
    if kind not in SERVER_TYPES or (kind == "session" and mode is not Mode.V1):
        raise FrameError(ErrorCode.UNKNOWN_TYPE, f"unknown server frame type: {kind!r}")
    data = obj.get("data")
    if type(data) is not dict:
        raise FrameError(ErrorCode.VALIDATION_ERROR, f"server '{kind}' frame has no data object")
    request_id = obj.get("id")
    if request_id is not None and (mode is not Mode.V1 or not is_valid_id(request_id)):
        raise FrameError(ErrorCode.VALIDATION_ERROR, f"server frame has an invalid id: {request_id!r}")
    return ServerFrame(kind, data, request_id)


def encode_frame(kind: str, data: dict[str, Any], request_id: RequestId | None = None) -> str:
    """Encode one frame as compact JSON text; `request_id` is written only when not None."""
    return encode_frame_bytes(kind, data, request_id).decode()


def encode_frame_bytes(kind: str, data: dict[str, Any], request_id: RequestId | None = None) -> bytes:
    """`encode_frame` as UTF-8 bytes, ready to be framed."""
    if request_id is None:
        return orjson.dumps({"type": kind, "data": data})
    return orjson.dumps({"type": kind, "id": request_id, "data": data})


def encode_error(
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    request_id: RequestId | None = None,
) -> str:
    """Encode an `error` frame: `data` holds `message`, `code`, then any extra keys."""
    return encode_error_bytes(code, message, details, request_id).decode()


def encode_error_bytes(
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    request_id: RequestId | None = None,
) -> bytes:
    """`encode_error` as UTF-8 bytes."""
    data: dict[str, Any] = {"message": message, "code": code.value}
    if details:
        data.update(details)
    return encode_frame_bytes("error", data, request_id)
