"""`/ws` served by the real runtime on loopback, checked frame by frame against `schemas/` and the spec."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import Serve
from tests.envs import BrokenFactoryEnv, EchoEnv, LineEnv, SyncLineEnv
from tests.schemas_util import is_valid
from tests.wire import Peer

STEP = {"type": "step", "data": {"direction": "right", "amount": 2}}


def test_base_lifecycle_frames_validate(line_server) -> None:
    with Peer(line_server.ws_url) as peer:
        reset = peer.ask({"type": "reset", "data": {"seed": 7, "episode_id": "ep-1"}})
        assert reset == {
            "type": "observation",
            "data": {
                "observation": {"metadata": {"seed": 7}, "position": 0, "text": ""},
                "reward": None,
                "done": False,
                "metadata": {"seed": 7},
            },
        }
        step = peer.ask(STEP)
        assert step["data"]["observation"]["position"] == 2 and step["data"]["reward"] == -0.01
        assert "terminated" not in step["data"]  # OE-V1-032
        state = peer.ask({"type": "state"})
        assert state["data"] == {"episode_id": "ep-1", "step_count": 1, "position": 2, "seed": 7}
        for frame in (reset, step, state):
            assert is_valid("ServerMessage", frame), frame
        peer.send({"type": "close"})
        assert peer.closed_with() == 1000


def test_v1_hello_ids_flags_and_episode_rules(line_server) -> None:
    metadata = httpx.get(f"{line_server.base_url}/metadata").json()
    with Peer(line_server.ws_url, v1=True) as peer:
        assert peer.ws.subprotocol == "openenv.v1"
        hello = peer.hello
        assert hello is not None and is_valid("V1SessionMessage", hello)
        assert hello["data"]["limits"] == metadata["limits"]
        early = peer.ask({**STEP, "id": "s0"})
        assert early["data"]["code"] == "EPISODE_NOT_STARTED" and early["id"] == "s0"
        state0 = peer.ask({"type": "state", "id": 0})
        assert state0["id"] == 0 and state0["data"]["step_count"] == 0
        reset = peer.ask({"type": "reset", "id": "r1", "data": {"seed": 1}})
        assert reset["id"] == "r1" and reset["data"]["terminated"] is False
        frames = [reset, early, state0]
        for amount in (5, 5):
            frames.append(peer.ask({"type": "step", "id": amount, "data": {"direction": "left", "amount": amount}}))
        last = frames[-1]["data"]
        assert last["done"] and last["terminated"] and not last["truncated"] and last["reward"] == 1.0
        ended = peer.ask({**STEP, "id": 99})
        assert ended["data"]["code"] == "EPISODE_ENDED" and ended["id"] == 99
        no_id = peer.ask({"type": "state"})
        assert "id" not in no_id
        for frame in [*frames, ended, no_id]:
            assert is_valid("V1ServerMessage", frame), frame
        again = peer.ask({"type": "reset", "id": "r2"})
        assert again["data"]["done"] is False


def test_pipelined_replies_keep_order(line_server) -> None:
    with Peer(line_server.ws_url, v1=True) as peer:
        peer.send({"type": "reset", "id": 1})
        for i in range(2, 12):
            peer.send({"type": "step", "id": i, "data": {"direction": "right", "amount": 0}})
        peer.send({"type": "state", "id": 12})
        ids = [peer.recv()["id"] for _ in range(12)]
        assert ids == list(range(1, 13))


@pytest.mark.parametrize("v1", [False, True])
def test_bad_frames_get_errors_and_keep_the_session(line_server, v1: bool) -> None:
    with Peer(line_server.ws_url, v1=v1) as peer:
        peer.ask({"type": "reset", "data": {"episode_id": "keep"}})
        peer.ask(STEP)
        cases = [
            ("{not json", "INVALID_JSON"),
            ('{"type":"step","data":{"amount":NaN}}', "INVALID_JSON"),
            (b'{"type":"state"}', "INVALID_JSON"),
            ("[1,2,3]", "VALIDATION_ERROR"),
            ('"reset"', "VALIDATION_ERROR"),
            ({"type": "frobnicate"}, "UNKNOWN_TYPE"),
            ({"type": "STATE"}, "UNKNOWN_TYPE"),
            ({"data": {}}, "UNKNOWN_TYPE"),
            ({"type": "state", "data": {}}, "VALIDATION_ERROR"),
            ({"type": "step"}, "VALIDATION_ERROR"),
            ({"type": "step", "data": {"direction": "up", "amount": 1}}, "VALIDATION_ERROR"),
            ({"type": "step", "data": {"direction": "left", "amount": 1, "speed": 3}}, "VALIDATION_ERROR"),
            ({"type": "reset", "data": {"seed": -1}}, "VALIDATION_ERROR"),
            ({"type": "reset", "data": {"episode_id": ""}}, "VALIDATION_ERROR"),
        ]
        for frame, code in cases:
            reply = peer.ask(frame)
            assert reply["type"] == "error" and reply["data"]["code"] == code, (frame, reply)
            assert is_valid("V1ServerMessage" if v1 else "ServerMessage", reply), reply
        state = peer.ask({"type": "state"})
        assert state["data"]["episode_id"] == "keep" and state["data"]["step_count"] == 1


def test_validation_error_locations(line_server) -> None:
    bad_action = {"type": "step", "data": {"direction": "up", "amount": 1}}
    with Peer(line_server.ws_url) as base:
        base.ask({"type": "reset"})
        assert base.ask(bad_action)["data"]["errors"][0]["loc"] == ["direction"]  # OE-ERR-007
        extra = base.ask({"type": "reset", "data": {}, "id": 1})["data"]["errors"]
        assert extra[0]["loc"] == ["id"] and extra[0]["type"] == "extra_forbidden"
        # unknown reset parameters may be dropped at base level (OE-WS-013)
        assert base.ask({"type": "reset", "data": {"difficulty": "hard"}})["type"] == "observation"
    with Peer(line_server.ws_url, v1=True) as v1:
        v1.ask({"type": "reset"})
        assert v1.ask({**bad_action, "id": 3})["data"]["errors"][0]["loc"] == ["data", "direction"]  # OE-ERR-006
        bad_id = v1.ask({"type": "state", "id": True})
        assert bad_id["data"]["errors"][0]["loc"] == ["id"] and "id" not in bad_id  # OE-V1-023
        unknown = v1.ask({"type": "reset", "data": {"difficulty": "hard"}})  # OE-WS-012
        assert unknown["data"]["code"] == "VALIDATION_ERROR"
        assert unknown["data"]["errors"][0]["loc"] == ["data", "difficulty"]


def test_environment_failures_are_execution_errors_without_internals(line_server) -> None:
    with Peer(line_server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset"})
        peer.ask(STEP)
        raised = peer.ask({"type": "step", "data": {"direction": "right", "amount": 1, "fault": "raise"}})
        assert raised["data"]["code"] == "EXECUTION_ERROR"
        assert "secret" not in raised["data"]["message"] and "ValueError" in raised["data"]["message"]
        public = peer.ask({"type": "step", "data": {"direction": "right", "amount": 1, "fault": "public"}})
        assert public["data"] == {"message": "the door is locked", "code": "EXECUTION_ERROR"}
        nan = peer.ask({"type": "step", "data": {"direction": "right", "amount": 1, "fault": "nan"}})
        assert nan["data"]["code"] == "EXECUTION_ERROR" and "non-finite" in nan["data"]["message"]
        wrong = peer.ask({"type": "step", "data": {"direction": "right", "amount": 1, "fault": "wrong_type"}})
        assert wrong["data"]["code"] == "EXECUTION_ERROR"
        # OE-ERR-011: the environment keeps its state after an execution error
        assert peer.ask({"type": "state"})["data"]["position"] == 3


def test_reply_larger_than_the_limit_becomes_an_error(serve: Serve) -> None:
    server = serve(LineEnv, max_message_bytes=64 * 1024)
    with Peer(server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset"})
        big = peer.ask({"type": "step", "id": "b", "data": {"direction": "right", "amount": 1, "fault": "big"}})
        assert big["data"]["code"] == "EXECUTION_ERROR" and big["id"] == "b"
        assert "exceeds max_message_bytes" in big["data"]["message"]
        assert peer.ask({"type": "state"})["type"] == "state"


@pytest.mark.parametrize("v1", [False, True])
def test_oversized_frame_closes_with_1009(serve: Serve, v1: bool) -> None:
    server = serve(LineEnv, max_message_bytes=4096)
    with Peer(server.ws_url, v1=v1) as peer:
        peer.ask({"type": "reset"})
        peer.send({"type": "step", "data": {"direction": "right", "amount": 1, "pad": "x" * 5000}})
        if v1:
            error = peer.recv()
            assert error["data"]["code"] == "MESSAGE_TOO_LARGE" and is_valid("V1ServerMessage", error)
        assert peer.closed_with() == 1009
    with Peer(server.ws_url) as peer:  # beyond twice the limit uvicorn itself cuts the frame
        peer.send("x" * 20000)
        assert peer.closed_with() == 1009
    with Peer(server.ws_url) as peer:  # an exactly-at-limit frame is accepted (OE-LIM-004)
        frame = '{"type":"reset","data":{"k":"%s"}}'
        peer.send(frame % ("y" * (4096 - len(frame % ""))))
        assert peer.recv()["type"] in ("observation", "error")


@pytest.mark.parametrize("v1", [False, True])
def test_idle_timeout(serve: Serve, v1: bool) -> None:
    server = serve(LineEnv, idle_timeout_s=0.3)
    with Peer(server.ws_url, v1=v1) as peer:
        peer.ask({"type": "reset"})
        if v1:
            assert peer.recv()["data"]["code"] == "IDLE_TIMEOUT"
        assert peer.closed_with() == 1001


@pytest.mark.parametrize(("env", "v1"), [(LineEnv, True), (LineEnv, False), (SyncLineEnv, True)])
def test_step_timeout_closes_the_session_and_frees_the_slot(serve: Serve, env, v1: bool) -> None:
    server = serve(env, step_timeout_s=0.3, max_sessions=2)
    with Peer(server.ws_url, v1=True) as observer, Peer(server.ws_url, v1=v1) as peer:
        observer.ask({"type": "reset"})
        peer.ask({"type": "reset"})
        started = time.monotonic()
        reply = peer.ask({"type": "step", "data": {"direction": "right", "amount": 1, "fault": "hang"}})
        assert time.monotonic() - started < 1.2
        assert reply["data"]["code"] == ("STEP_TIMEOUT" if v1 else "EXECUTION_ERROR")
        assert peer.closed_with() == 1011
        assert observer.ask(STEP)["type"] == "observation"
        with Peer(server.ws_url, v1=True) as newcomer:  # the slot is free although the call still runs
            assert newcomer.ask({"type": "reset"})["type"] == "observation"


def test_capacity_refused_before_upgrade_and_recovers(serve: Serve) -> None:
    server = serve(LineEnv, max_sessions=2)
    first, second = Peer(server.ws_url), Peer(server.ws_url, v1=True)
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, subprotocols=["openenv.v1"], open_timeout=5)
    response = refused.value.response
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    import orjson

    body = orjson.loads(response.body)
    assert is_valid("CapacityErrorResponse", body) and body["data"]["active_sessions"] == 2
    health = httpx.get(f"{server.base_url}/health").json()
    assert health == {"status": "healthy", "active_sessions": 2, "max_sessions": 2}
    first.send({"type": "close"})
    assert first.closed_with() == 1000
    with Peer(server.ws_url) as third:  # OE-LIM-014: no race with our own previous session
        assert third.ask({"type": "reset"})["type"] == "observation"
    second.close()


def test_abrupt_disconnect_releases_slot_and_closes_env(serve: Serve) -> None:
    SyncLineEnv.closed.clear()
    server = serve(SyncLineEnv, max_sessions=1)
    host, port = "127.0.0.1", server.port
    raw = socket.create_connection((host, port))
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    raw.sendall(
        f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert b"101" in raw.recv(4096).split(b"\r\n")[0]
    raw.close()  # no close frame
    deadline = time.monotonic() + 5
    while httpx.get(f"{server.base_url}/health").json()["active_sessions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    with Peer(server.ws_url) as peer:
        assert peer.ask({"type": "reset", "data": {"episode_id": "after"}})["type"] == "observation"
    assert SyncLineEnv.closed  # the abandoned session's environment was closed


def test_factory_error(serve: Serve) -> None:
    server = serve(BrokenFactoryEnv, env_class=None) if False else serve(BrokenFactoryEnv)
    with Peer(server.ws_url, v1=True) as peer:
        error = peer.hello
        assert error is not None and error["data"]["code"] == "FACTORY_ERROR"
        assert error["data"]["factory_name"] == "BrokenFactoryEnv" and "database" not in error["data"]["message"]
        assert peer.closed_with() == 1011


def test_sessions_are_isolated_under_faults(line_server) -> None:
    with Peer(line_server.ws_url, v1=True) as a, Peer(line_server.ws_url) as b:
        a.ask({"type": "reset", "data": {"episode_id": "a"}})
        b.ask({"type": "reset", "data": {"episode_id": "b"}})
        for _ in range(3):
            a.ask(STEP)
        b.send(b"\x00\x01binary")
        b.recv()
        b.ask("[]")
        # a third session dies abruptly mid-episode
        c = Peer(line_server.ws_url)
        c.ask({"type": "reset"})
        c.ws.socket.close()
        assert a.ask({"type": "state"})["data"] == {"episode_id": "a", "step_count": 3, "position": 6, "seed": None}
        assert b.ask({"type": "state"})["data"]["episode_id"] == "b"


def test_mcp_frames(echo_server) -> None:
    with Peer(echo_server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset"})
        tools = peer.ask({"type": "mcp", "id": "t", "data": {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}})
        assert tools["id"] == "t" and [t["name"] for t in tools["data"]["result"]["tools"]] == [
            "echo_message",
            "echo_with_length",
            "explode",
        ]
        call = {"name": "echo_with_length", "arguments": {"message": "abc"}}
        result = peer.ask(
            {"type": "mcp", "data": {"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": call}}
        )
        assert result["data"]["id"] == "c"
        assert result["data"]["result"]["structuredContent"] == {"message": "abc", "length": 3}
        failing = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "explode"}}
        assert peer.ask({"type": "mcp", "data": failing})["data"]["result"]["isError"] is True
        unknown = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "nope"}}
        assert peer.ask({"type": "mcp", "data": unknown})["data"]["error"]["code"] == -32602
        missing = {"jsonrpc": "2.0", "id": 4, "method": "resources/list"}
        assert peer.ask({"type": "mcp", "data": missing})["data"]["error"]["code"] == -32601
        bad = {"jsonrpc": "1.0", "id": 5, "method": "tools/list"}
        assert peer.ask({"type": "mcp", "data": bad})["data"]["error"]["code"] == -32600
        # a notification gets no reply: the next reply answers the following state request
        peer.send({"type": "mcp", "data": {"jsonrpc": "2.0", "method": "notifications/initialized"}})
        state = peer.ask({"type": "state"})
        assert state["type"] == "state" and state["data"]["step_count"] == 0  # OE-MCP-017


def test_tool_steps_count(echo_server) -> None:
    with Peer(echo_server.ws_url) as peer:
        peer.ask({"type": "reset", "data": {"episode_id": "e"}})
        step = {"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": "hi"}}
        reply = peer.ask({"type": "step", "data": step})
        assert reply["data"]["observation"]["result"]["data"] == "hi"
        missing = peer.ask({"type": "step", "data": {"type": "call_tool", "tool_name": "nope", "arguments": {}}})
        assert missing["data"]["observation"]["error"]["error_type"] == "tool_not_found"
        listed = peer.ask({"type": "step", "data": {"type": "list_tools"}})
        assert listed["data"]["observation"]["tools"][0]["input_schema"]["required"] == ["message"]
        assert peer.ask({"type": "state"})["data"] == {"episode_id": "e", "step_count": 3}


def test_tools_on_an_environment_without_tools(line_server) -> None:
    with Peer(line_server.ws_url) as peer:
        reply = peer.ask({"type": "mcp", "data": {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}})
        assert reply["data"]["error"]["code"] == -32601  # OE-MCP-015


def test_unknown_ws_path_and_unknown_attach(echo_server, line_server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{line_server.port}/other", open_timeout=5)
    assert refused.value.response.status_code == 404
    with Peer(f"{line_server.ws_url}?session_id=nope", v1=True) as peer:
        assert peer.hello is not None and peer.hello["data"]["code"] == "SESSION_ERROR"
        assert peer.closed_with() == 1008


def test_named_sessions_for_legacy_mcp_clients(echo_server) -> None:
    mcp = f"{echo_server.base_url}/mcp"
    created = httpx.post(mcp, json={"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create"}).json()
    session_id = created["result"]["session_id"]
    with Peer(f"{echo_server.ws_url}?session_id={session_id}") as peer:
        peer.ask({"type": "reset", "data": {"episode_id": "shared"}})
        peer.ask({"type": "step", "data": {"type": "list_tools"}})
        params = {"name": "echo_message", "arguments": {"message": "x"}, "session_id": session_id}
        call = httpx.post(mcp, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}).json()
        assert call["result"]["data"] == "x"
        with Peer(f"{echo_server.ws_url}?session_id={session_id}") as second:
            assert second.recv()["data"]["code"] == "SESSION_ERROR"
        busy = {"jsonrpc": "2.0", "id": 3, "method": "openenv/session/close", "params": {"session_id": session_id}}
        assert httpx.post(mcp, json=busy).json()["error"]["code"] == -32602
        peer.send({"type": "close"})
        assert peer.closed_with() == 1000
    with Peer(f"{echo_server.ws_url}?session_id={session_id}") as again:  # the session outlives its connection
        assert again.ask({"type": "state"})["data"] == {"episode_id": "shared", "step_count": 1}
    closed = httpx.post(mcp, json={**busy, "id": 4}).json()
    assert closed["result"] == {"closed": True}
    unknown = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"session_id": session_id}}
    assert httpx.post(mcp, json=unknown).json()["error"]["code"] == -32602


def test_named_sessions_expire_and_count(serve: Serve) -> None:
    server = serve(EchoEnv, named_sessions=True, idle_timeout_s=0.3, max_sessions=1)
    mcp = f"{server.base_url}/mcp"
    create = {"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create"}
    assert "result" in httpx.post(mcp, json=create).json()
    full = httpx.post(mcp, json=create).json()["error"]  # OE-MCP-031
    assert full["code"] == -32000 and full["data"] == {"active_sessions": 1, "max_sessions": 1}
    time.sleep(0.6)  # OE-MCP-032
    assert httpx.get(f"{server.base_url}/health").json()["active_sessions"] == 0
    assert "result" in httpx.post(mcp, json=create).json()


def test_named_sessions_are_off_by_default(line_server) -> None:
    create = {"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create"}
    assert httpx.post(f"{line_server.base_url}/mcp", json=create).json()["error"]["code"] == -32601
    assert EchoEnv  # the echo fixture enables them explicitly


def test_typed_environment_with_tools(serve: Serve) -> None:
    from openenv.server import tool

    class PeekableLine(LineEnv):
        @tool
        async def peek(self) -> dict:
            """The current position (not a step)."""
            return {"position": self.position}

    server = serve(PeekableLine)
    assert httpx.get(f"{server.base_url}/metadata").json()["capabilities"]["mcp"] is True
    with Peer(server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset"})
        assert peer.ask(STEP)["data"]["observation"]["position"] == 2  # steps stay typed
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "peek"}}
        assert peer.ask({"type": "mcp", "data": call})["data"]["result"]["structuredContent"] == {"position": 2}
        tool_step = {"type": "step", "data": {"type": "call_tool", "tool_name": "peek", "arguments": {}}}
        assert peer.ask(tool_step)["data"]["code"] == "VALIDATION_ERROR"  # not a step action here
        assert peer.ask({"type": "state"})["data"]["step_count"] == 1


def test_shutdown_closes_sessions_with_going_away() -> None:
    from openenv.server import create_app
    from openenv.server.background import BackgroundServer

    server = BackgroundServer(create_app(LineEnv)).start()
    peer = Peer(server.ws_url, v1=True)
    peer.ask({"type": "reset"})
    server.stop()
    assert peer.closed_with() == 1001  # OE-WS-030
