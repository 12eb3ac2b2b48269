"""The frame codec agrees with `schemas/` on every example and invalid case."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from openenv.protocol import ErrorCode, FrameError, Mode
from openenv.protocol.frames import (
    decode_client_frame,
    decode_server_frame,
    encode_error,
    encode_frame,
)
from openenv.server import create_app
from openenv.server.faults import InvalidRequest
from openenv.server.host import EnvHost
from openenv.server.mcp.jsonrpc import McpDispatcher

from tests.envs import EchoEnv, LineEnv
from tests.schemas_util import corpus, is_valid

BASE_CLIENT = (
    "ClientMessage",
    "WsResetRequest",
    "WsStepRequest",
    "WsStateRequest",
    "WsCloseRequest",
    "WsMcpRequest",
)
V1_CLIENT = (
    "V1ClientMessage",
    "V1ResetRequest",
    "V1StepRequest",
    "V1StateRequest",
    "V1CloseRequest",
    "V1McpRequest",
)
BASE_SERVER = (
    "ServerMessage",
    "WsObservationResponse",
    "WsStateResponse",
    "WsMcpResponse",
    "WsErrorResponse",
)
V1_SERVER = (
    "V1ServerMessage",
    "V1SessionMessage",
    "V1ObservationResponse",
    "V1StateResponse",
    "V1McpResponse",
    "V1ErrorResponse",
)


def _text(value: Any) -> bytes:
    return orjson.dumps(value)


@pytest.mark.parametrize(("case", "frame"), corpus("examples", *BASE_CLIENT))
def test_base_client_examples_decode(case: str, frame: Any) -> None:
    decoded = decode_client_frame(_text(frame), Mode.BASE)
    assert decoded.type == frame["type"]
    assert decoded.data == frame.get("data", {})
    assert decoded.id is None


@pytest.mark.parametrize(("case", "frame"), corpus("examples", *V1_CLIENT))
def test_v1_client_examples_decode(case: str, frame: Any) -> None:
    decoded = decode_client_frame(_text(frame), Mode.V1)
    assert decoded.type == frame["type"]
    assert decoded.id == frame.get("id")


def _rejected_by_runtime(frame: Any, mode: Mode) -> bool:
    """Whether the server runtime refuses `frame`: at the envelope, or at its reset/mcp payload."""
    try:
        decoded = decode_client_frame(_text(frame), mode)
    except FrameError:
        return True
    if decoded.type == "reset":
        try:
            EnvHost(LineEnv(), 1.0).reset_kwargs(decoded.data, strict=mode is Mode.V1)
        except InvalidRequest:
            return True
    if decoded.type == "mcp":
        reply = asyncio.run(McpDispatcher(None, create_app(EchoEnv).service).handle(decoded.data))
        return reply is not None and reply.get("error", {}).get("code") == -32600
    return False


@pytest.mark.parametrize(("case", "frame"), corpus("invalid", *BASE_CLIENT))
def test_base_client_invalid_cases_rejected(case: str, frame: Any) -> None:
    assert _rejected_by_runtime(frame, Mode.BASE)


@pytest.mark.parametrize(("case", "frame"), corpus("invalid", *V1_CLIENT))
def test_v1_client_invalid_cases_rejected(case: str, frame: Any) -> None:
    assert _rejected_by_runtime(frame, Mode.V1)


@pytest.mark.parametrize(("case", "frame"), corpus("examples", *BASE_SERVER))
def test_base_server_examples_decode(case: str, frame: Any) -> None:
    decoded = decode_server_frame(_text(frame), Mode.BASE)
    assert decoded.type == frame["type"]


@pytest.mark.parametrize(("case", "frame"), corpus("examples", *V1_SERVER))
def test_v1_server_examples_decode(case: str, frame: Any) -> None:
    decoded = decode_server_frame(_text(frame), Mode.V1)
    assert decoded.id == frame.get("id")


def test_legacy_behaviours_decided() -> None:
    """Binary frames and non-object JSON are recoverable errors (spec), not session kills (0.10)."""
    with pytest.raises(FrameError) as binary:
        decode_client_frame(b'{"type":"reset"}', Mode.BASE, binary=True)
    assert binary.value.code is ErrorCode.INVALID_JSON and not binary.value.fatal
    with pytest.raises(FrameError) as array:
        decode_client_frame("[1,2,3]", Mode.BASE)
    assert array.value.code is ErrorCode.VALIDATION_ERROR and not array.value.fatal
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(FrameError) as nan:
            decode_client_frame(f'{{"type":"step","data":{{"x":{literal}}}}}', Mode.BASE)
        assert nan.value.code is ErrorCode.INVALID_JSON


def test_v1_errors_echo_readable_ids() -> None:
    with pytest.raises(FrameError) as unknown:
        decode_client_frame('{"type":"nope","id":"r-1"}', Mode.V1)
    assert unknown.value.request_id == "r-1"
    with pytest.raises(FrameError) as base:
        decode_client_frame('{"type":"reset","id":1}', Mode.BASE)
    assert base.value.request_id is None and base.value.details["errors"][0]["loc"] == ["id"]


def test_encoded_frames_validate() -> None:
    assert is_valid("ServerMessage", orjson.loads(encode_frame("state", {"episode_id": None, "step_count": 0})))
    error = orjson.loads(encode_error(ErrorCode.UNKNOWN_TYPE, "Unknown message type: x"))
    assert is_valid("ServerMessage", error)
    v1_error = orjson.loads(encode_error(ErrorCode.EPISODE_ENDED, "ended", request_id=7))
    assert is_valid("V1ServerMessage", v1_error)
    assert not is_valid("ServerMessage", v1_error)
