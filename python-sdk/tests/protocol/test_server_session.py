"""The server-role state machine, without I/O: episode rules, ids, error mapping and close codes, and
the recorded trajectory the ledger keeps (OE-RWD-006, -007, -008)."""

from __future__ import annotations

import orjson
import pytest
from openenv.protocol import CloseCode, ErrorCode, Mode
from openenv.protocol.server import (
    MAX_TRAJECTORY_STEPS,
    Close,
    Episode,
    EpisodeLedger,
    Request,
    Send,
    ServerSession,
    TrajectoryRecord,
)


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


def recording(max_steps: int, *, max_bytes: int = 1 << 20, limit: int = 1 << 20) -> ServerSession:
    s = session(Mode.V1, max_message_bytes=limit)
    s.ledger = EpisodeLedger(trajectory=TrajectoryRecord(max_steps, max_bytes))
    return s


def play(s: ServerSession, actions: list[dict]) -> None:
    """A reset, then one step per action (the observation names the action's `n`)."""
    reset = s.receive('{"type":"reset","data":{}}')
    assert isinstance(reset, Request)
    observe(s, reset, reward=None)
    for action in actions:
        step = s.receive(orjson.dumps({"type": "step", "data": action}))
        assert isinstance(step, Request)
        s.observation(step, observation=orjson.Fragment(orjson.dumps({"seen": action})), reward=True,
                      terminated=False, truncated=False, metadata=None)  # fmt: skip


def state_of(s: ServerSession) -> dict:
    request = s.receive('{"type":"state"}')
    assert isinstance(request, Request)
    (reply,) = frames(s.state(request, {"extra": 1}))
    assert reply["type"] == "state", reply
    return reply["data"]


def test_the_ledger_records_the_newest_steps_and_a_reset_clears_them() -> None:
    s = recording(2)
    play(s, [{"n": i} for i in range(3)])
    state = state_of(s)
    assert state["step_count"] == 3 and state["extra"] == 1
    assert state["trajectory"] == {
        "steps": [
            {"action": {"n": 1}, "observation": {"seen": {"n": 1}}, "reward": 1.0},
            {"action": {"n": 2}, "observation": {"seen": {"n": 2}}, "reward": 1.0},
        ],
        "max_steps": 2,
        "dropped": 1,
    }
    play(s, [])
    assert state_of(s)["trajectory"] == {"steps": [], "max_steps": 2, "dropped": 0}


def test_errors_are_not_recorded_and_unrecorded_ledgers_add_nothing() -> None:
    s = recording(5)
    play(s, [{"n": 0}])
    step = s.receive('{"type":"step","data":{"n":1}}')
    assert isinstance(step, Request)
    s.failure(step, ErrorCode.EXECUTION_ERROR, "boom")
    assert [x["action"] for x in state_of(s)["trajectory"]["steps"]] == [{"n": 0}]
    plain = session(Mode.V1)
    play(plain, [{"n": 0}])
    assert "trajectory" not in state_of(plain)


def test_the_record_is_bounded_in_bytes_too() -> None:
    s = recording(100, max_bytes=200)
    play(s, [{"blob": "x" * 40, "n": i} for i in range(6)])  # about 100 bytes per recorded step
    record = state_of(s)["trajectory"]
    assert [x["action"]["n"] for x in record["steps"]] == [5] and record["dropped"] == 5
    play(s, [{"blob": "x" * 300}])  # larger than the whole budget: dropped at once, counted
    assert state_of(s)["trajectory"] == {"steps": [], "max_steps": 100, "dropped": 1}


def test_a_state_reply_sheds_the_oldest_steps_to_fit_the_message_limit() -> None:
    s = recording(50, limit=1024)
    play(s, [{"blob": "y" * 100, "n": i} for i in range(20)])  # ~4.6 KB recorded, limit 1 KiB
    request = s.receive('{"type":"state","id":4}')
    assert isinstance(request, Request)
    (out,) = s.state(request, {})
    assert isinstance(out, Send) and len(out.data) <= 1024
    record = orjson.loads(out.data)["data"]["trajectory"]
    kept = [x["action"]["n"] for x in record["steps"]]
    assert kept and kept == list(range(20 - len(kept), 20))  # the newest, oldest first
    assert record["dropped"] + len(kept) == 20
    assert state_of(s)["trajectory"]["dropped"] == record["dropped"]  # dropped for good
    (error,) = frames(s.state(request, {"blob": "z" * 2000}))  # too large even with no steps
    assert error["data"]["code"] == "EXECUTION_ERROR"


@pytest.mark.parametrize("bound", [0, MAX_TRAJECTORY_STEPS + 1, True, 2.0])
def test_the_record_bound_is_checked(bound: object) -> None:
    with pytest.raises(ValueError, match="max_steps"):
        TrajectoryRecord(bound, 1024)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_bytes"):
        TrajectoryRecord(1, 0)
