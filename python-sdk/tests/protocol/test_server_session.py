"""The server-role state machine, without I/O: episode rules, ids, error mapping and close codes."""

from __future__ import annotations

import orjson
import pytest
from openenv.protocol import CloseCode, ErrorCode, Mode
from openenv.protocol.server import Close, Episode, Request, Send, ServerSession


def session(mode: Mode, **limits: int) -> ServerSession:
    return ServerSession(mode=mode, session_id="s-1", limits={"max_message_bytes": 1 << 20, **limits})


def frames(outputs: list) -> list[dict]:
    return [orjson.loads(o.text) for o in outputs if isinstance(o, Send)]


def observe(s: ServerSession, request: Request, *, terminated: bool = False, truncated: bool = False, reward=0.5):
    return s.observation(
        request, observation={"metadata": {}}, reward=reward, terminated=terminated, truncated=truncated, metadata=None
    )


def test_hello_only_in_v1() -> None:
    assert session(Mode.BASE).hello() == []
    (hello,) = frames(session(Mode.V1).hello())
    assert hello["type"] == "session" and hello["data"]["session_id"] == "s-1"


@pytest.mark.parametrize("offered", [["openenv.v1"], ["x", "openenv.v1"]])
def test_subprotocol_selection(offered: list[str]) -> None:
    assert ServerSession.select_subprotocol(offered) == "openenv.v1"
    assert ServerSession.select_subprotocol(offered, v1_enabled=False) is None
    assert ServerSession.select_subprotocol(["openenv.v2"]) is None


def test_v1_episode_table() -> None:
    s = session(Mode.V1)
    (early,) = frames(s.receive('{"type":"step","id":1,"data":{}}'))  # type: ignore[arg-type]
    assert early == {
        "type": "error",
        "id": 1,
        "data": {"message": early["data"]["message"], "code": "EPISODE_NOT_STARTED"},
    }
    reset = s.receive('{"type":"reset","id":"r"}')
    assert isinstance(reset, Request) and reset.id == "r"
    assert frames(observe(s, reset))[0]["id"] == "r" and s.episode is Episode.RUNNING
    step = s.receive('{"type":"step","data":{"a":1}}')
    assert isinstance(step, Request)
    (done,) = frames(observe(s, step, truncated=True))
    assert done["data"] | {"observation": None} == {
        "observation": None,
        "reward": 0.5,
        "done": True,
        "terminated": False,
        "truncated": True,
    }
    assert s.episode is Episode.ENDED
    (ended,) = frames(s.receive('{"type":"step","data":{}}'))  # type: ignore[arg-type]
    assert ended["data"]["code"] == "EPISODE_ENDED" and "id" not in ended
    assert isinstance(s.receive('{"type":"state"}'), Request)  # always allowed (OE-V1-052)


def test_base_passes_everything_to_the_environment() -> None:
    s = session(Mode.BASE)
    step = s.receive('{"type":"step","data":{}}')
    assert isinstance(step, Request)
    (obs,) = frames(observe(s, step, terminated=True))
    assert set(obs["data"]) == {"observation", "reward", "done"}  # OE-V1-032
    assert isinstance(s.receive('{"type":"step","data":{}}'), Request)


@pytest.mark.parametrize("mode", [Mode.BASE, Mode.V1])
def test_non_finite_reward_is_an_error(mode: Mode) -> None:
    s = session(mode)
    request = s.receive('{"type":"reset"}')
    assert isinstance(request, Request)
    (error,) = frames(observe(s, request, reward=float("inf")))
    assert error["data"]["code"] == "EXECUTION_ERROR" and s.episode is Episode.NOT_STARTED


def test_boolean_reward_becomes_a_number_in_v1() -> None:
    s = session(Mode.V1)
    request = s.receive('{"type":"reset"}')
    assert isinstance(request, Request)
    assert frames(observe(s, request, reward=True))[0]["data"]["reward"] == 1.0


@pytest.mark.parametrize(
    ("mode", "code", "expected"),
    [
        (Mode.V1, ErrorCode.STEP_TIMEOUT, ("STEP_TIMEOUT", CloseCode.INTERNAL_ERROR)),
        (Mode.BASE, ErrorCode.STEP_TIMEOUT, ("EXECUTION_ERROR", CloseCode.INTERNAL_ERROR)),
        (Mode.V1, ErrorCode.IDLE_TIMEOUT, ("IDLE_TIMEOUT", CloseCode.GOING_AWAY)),
        (Mode.BASE, ErrorCode.IDLE_TIMEOUT, (None, CloseCode.GOING_AWAY)),
        (Mode.V1, ErrorCode.MESSAGE_TOO_LARGE, ("MESSAGE_TOO_LARGE", CloseCode.MESSAGE_TOO_BIG)),
        (Mode.BASE, ErrorCode.MESSAGE_TOO_LARGE, (None, CloseCode.MESSAGE_TOO_BIG)),
        (Mode.V1, ErrorCode.FACTORY_ERROR, ("FACTORY_ERROR", CloseCode.INTERNAL_ERROR)),
        (Mode.BASE, ErrorCode.SESSION_ERROR, ("SESSION_ERROR", CloseCode.POLICY_VIOLATION)),
    ],
)
def test_fatal_errors_map_to_codes_and_close_codes(mode: Mode, code: ErrorCode, expected) -> None:
    s = session(mode)
    outputs = s.failure(None, code, "why", fatal=True)
    sent = frames(outputs)
    assert (sent[0]["data"]["code"] if sent else None) == expected[0]
    assert outputs[-1] == Close(expected[1]) and s.closed
    assert s.receive('{"type":"state"}') == []  # nothing after close (OE-WS-031)


def test_reply_over_the_limit_is_replaced() -> None:
    s = session(Mode.V1, max_message_bytes=1024)
    request = s.receive('{"type":"state","id":9}')
    assert isinstance(request, Request)
    (error,) = frames(s.state(request, {"blob": "é" * 500}))  # 1000 bytes of UTF-8 + envelope
    assert error["data"]["code"] == "EXECUTION_ERROR" and error["id"] == 9
    (ok,) = frames(s.state(request, {"blob": "x" * 100}))
    assert ok["type"] == "state"


def test_close_and_notifications() -> None:
    s = session(Mode.V1)
    request = s.receive('{"type":"mcp","data":{"jsonrpc":"2.0","method":"notifications/x"}}')
    assert isinstance(request, Request) and s.mcp(request, None) == []
    close = s.receive('{"type":"close"}')
    assert isinstance(close, Request) and close.kind == "close" and s.closed
