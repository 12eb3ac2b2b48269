"""The real openenv 0.10.0 servers in ``interop/legacy_envs/`` answer exactly like the transcripts.

Each test drives a real 0.10 server over loopback with a raw ``websockets`` client and compares the
server's text frames byte for byte with the frames recorded in
``shared/reference/openenv-0.10/transcripts.txt`` (uuids, which differ per run, are checked for
shape and then replaced by ``<uuid>``). These tests guard what the project believes about its peer.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from interop.legacy_server import LegacyServer, start_legacy_server

RECV_TIMEOUT_S = 10.0
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ERRORS_URL = "https://errors.pydantic.dev/2.14/v"

ECHO_READY = (
    '{"type":"observation","data":{"observation":{"metadata":{"status":"ready",'
    '"message":"Echo environment ready!"}},"reward":0.0,"done":false,"metadata":{"status":"ready",'
    '"message":"Echo environment ready!"}}}'
)
ECHO_TOOL_SCHEMA = (
    '"input_schema":{"additionalProperties":false,"properties":{"message":{"type":"string",'
    '"description":"The message to echo back"}},"required":["message"],"type":"object"}'
)


def step(data: dict[str, Any]) -> str:
    return json.dumps({"type": "step", "data": data})


def call_tool(name: str, arguments: dict[str, Any]) -> str:
    return step({"type": "call_tool", "tool_name": name, "arguments": arguments})


def anonymize(frame: str) -> str:
    """Replace every uuid4 in a frame by ``<uuid>``."""
    return UUID_RE.sub("<uuid>", frame)


def validation_error(errors: str) -> str:
    return f'{{"type":"error","data":{{"message":"Invalid message","code":"VALIDATION_ERROR","errors":[{errors}]}}}}'


def error(code: str, message: str) -> str:
    return f'{{"type":"error","data":{{"message":{json.dumps(message)},"code":"{code}"}}}}'


def typed_obs(position: int, reward: str = "0.0", done: str = "false") -> str:
    return (
        f'{{"type":"observation","data":{{"observation":{{"metadata":{{}},"position":{position},'
        f'"text":""}},"reward":{reward},"done":{done}}}}}'
    )


def typed_reset(seed: str) -> str:
    meta = f'{{"reset_kwargs":{{}},"seed":{seed}}}'
    return (
        f'{{"type":"observation","data":{{"observation":{{"metadata":{meta},"position":0,'
        f'"text":""}},"reward":null,"done":false,"metadata":{meta}}}}}'
    )


async def recv_text(ws: ClientConnection) -> str:
    async with asyncio.timeout(RECV_TIMEOUT_S):
        frame = await ws.recv()
    assert isinstance(frame, str), f"expected a text frame, got {frame!r}"
    return frame


async def exchange(ws: ClientConnection, frame: str | bytes) -> str:
    await ws.send(frame)
    return await recv_text(ws)


async def expect_closed(ws: ClientConnection, code: int) -> None:
    """The server closes the connection with ``code`` and sends no further frame."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(RECV_TIMEOUT_S):
            extra = await ws.recv()
        pytest.fail(f"unexpected frame before close: {extra!r}")
    assert ws.close_code == code


def open_ws(server: LegacyServer) -> connect:
    return connect(server.ws_url, proxy=None, open_timeout=10, max_size=2**24)


# ------------------------------------------------------------------------------------ echo env


async def test_echo_session_reset_state_steps_close(legacy_echo_server: LegacyServer) -> None:
    async with open_ws(legacy_echo_server) as ws:
        assert await exchange(ws, '{"type": "reset"}') == ECHO_READY
        state = await exchange(ws, '{"type": "state"}')
        assert UUID_RE.search(state)
        assert anonymize(state) == '{"type":"state","data":{"episode_id":"<uuid>","step_count":0}}'
        assert await exchange(ws, call_tool("echo_message", {"message": "hi"})) == (
            '{"type":"observation","data":{"observation":{"metadata":{},"tool_name":"echo_message",'
            '"result":{"content":[{"type":"text","text":"hi","annotations":null,"meta":null}],'
            '"structured_content":{"result":"hi"},"meta":{"fastmcp":{"wrap_result":true}},'
            '"data":"hi","is_error":false},"error":null},"reward":null,"done":false}}'
        )
        assert await exchange(ws, call_tool("echo_with_length", {"message": "hello"})) == (
            '{"type":"observation","data":{"observation":{"metadata":{},'
            '"tool_name":"echo_with_length","result":{"content":[{"type":"text",'
            '"text":"{\\"message\\":\\"hello\\",\\"length\\":5}","annotations":null,"meta":null}],'
            '"structured_content":{"message":"hello","length":5},"meta":null,'
            '"data":{"message":"hello","length":5},"is_error":false},"error":null},'
            '"reward":null,"done":false}}'
        )
        assert await exchange(ws, step({"type": "list_tools"})) == (
            '{"type":"observation","data":{"observation":{"metadata":{},"tools":['
            f'{{"name":"echo_message","description":"Echo back the provided message.",'
            f"{ECHO_TOOL_SCHEMA}}},"
            f'{{"name":"echo_with_length","description":"Echo back the message with its length.",'
            f"{ECHO_TOOL_SCHEMA}}}]}},"
            '"reward":null,"done":false}}'
        )
        assert await exchange(ws, '{"type": "state"}') == state.replace('"step_count":0', '"step_count":3')
        await ws.send('{"type": "close"}')
        await expect_closed(ws, 1000)


async def test_echo_reset_kwargs_and_episode_id(legacy_echo_server: LegacyServer) -> None:
    async with open_ws(legacy_echo_server) as ws:
        reset = {
            "type": "reset",
            "data": {"seed": 42, "episode_id": "ep-001", "difficulty": "hard"},
        }
        assert await exchange(ws, json.dumps(reset)) == ECHO_READY
        assert await exchange(ws, '{"type": "state"}') == (
            '{"type":"state","data":{"episode_id":"ep-001","step_count":0}}'
        )


async def test_echo_step_before_reset_and_tool_errors(legacy_echo_server: LegacyServer) -> None:
    async with open_ws(legacy_echo_server) as ws:
        untyped = step({"tool_name": "echo_message", "arguments": {"message": "no reset"}})
        assert await exchange(ws, untyped) == (
            '{"type":"observation","data":{"observation":{"metadata":{},"tool_name":"echo_message",'
            '"result":{"content":[{"type":"text","text":"no reset","annotations":null,'
            '"meta":null}],"structured_content":{"result":"no reset"},'
            '"meta":{"fastmcp":{"wrap_result":true}},"data":"no reset","is_error":false},'
            '"error":null},"reward":null,"done":false}}'
        )
        state = await exchange(ws, '{"type": "state"}')
        assert anonymize(state) == '{"type":"state","data":{"episode_id":"<uuid>","step_count":1}}'
        assert await exchange(ws, call_tool("nope", {})) == (
            '{"type":"observation","data":{"observation":{"metadata":{},"tool_name":"nope",'
            '"result":null,"error":{"error_type":"tool_not_found",'
            """"message":"Unknown tool: 'nope'"}},"reward":null,"done":false}}"""
        )
        bad_args = json.loads(await exchange(ws, call_tool("echo_message", {"msg": 1})))
        tool_error = bad_args["data"]["observation"]["error"]
        assert tool_error["error_type"] == "invalid_args"
        assert tool_error["message"].startswith("2 validation errors for call[echo_message]\n")
        assert "Missing required argument [type=missing_argument" in tool_error["message"]
        assert bad_args["data"]["reward"] is None
        assert ws.close_code is None


MCP_TOOLS_LIST = (
    '{"type":"mcp","data":{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo_message",'
    '"title":null,"description":"Echo back the provided message.","inputSchema":'
    '{"additionalProperties":false,"properties":{"message":{"type":"string",'
    '"description":"The message to echo back"}},"required":["message"],"type":"object"},'
    '"outputSchema":{"properties":{"result":{"type":"string"}},"required":["result"],'
    '"type":"object","x-fastmcp-wrap-result":true},"icons":null,"annotations":null,'
    '"meta":{"fastmcp":{"tags":[]}},"execution":null},{"name":"echo_with_length","title":null,'
    '"description":"Echo back the message with its length.","inputSchema":'
    '{"additionalProperties":false,"properties":{"message":{"type":"string",'
    '"description":"The message to echo back"}},"required":["message"],"type":"object"},'
    '"outputSchema":{"additionalProperties":true,"type":"object"},"icons":null,'
    '"annotations":null,"meta":{"fastmcp":{"tags":[]}},"execution":null}]}}}'
)


async def test_echo_mcp_frames(legacy_echo_server: LegacyServer) -> None:
    async with open_ws(legacy_echo_server) as ws:
        tools_list = {"jsonrpc": "2.0", "method": "tools/list", "id": 1}
        assert await exchange(ws, json.dumps({"type": "mcp", "data": tools_list})) == MCP_TOOLS_LIST
        params = {"name": "echo_message", "arguments": {"message": "via mcp"}}
        rpc = {"jsonrpc": "2.0", "method": "tools/call", "params": params, "id": "abc"}
        assert await exchange(ws, json.dumps({"type": "mcp", "data": rpc})) == (
            '{"type":"mcp","data":{"jsonrpc":"2.0","id":"abc","result":{"content":[{"type":"text",'
            '"text":"via mcp","annotations":null,"meta":null}],"structured_content":'
            '{"result":"via mcp"},"meta":{"fastmcp":{"wrap_result":true}},"data":"via mcp",'
            '"is_error":false}}}'
        )
        unknown = {"jsonrpc": "2.0", "method": "resources/list", "id": 4}
        assert await exchange(ws, json.dumps({"type": "mcp", "data": unknown})) == (
            '{"type":"mcp","data":{"jsonrpc":"2.0","id":4,"error":{"code":-32601,'
            '"message":"Method not found: resources/list","data":null}}}'
        )


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        ('{"type": "frobnicate"}', error("UNKNOWN_TYPE", "Unknown message type: frobnicate")),
        ('{"data": {}}', error("UNKNOWN_TYPE", "Unknown message type: ")),
        (
            "{not json",
            error(
                "INVALID_JSON",
                "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
        ),
        (
            '{"type": "reset", "data": {}, "id": 1}',
            validation_error(
                '{"type":"extra_forbidden","loc":["id"],"msg":"Extra inputs are not permitted",'
                f'"input":1,"url":"{ERRORS_URL}/extra_forbidden"}}'
            ),
        ),
        (
            '{"type": "step"}',
            validation_error(
                '{"type":"missing","loc":["data"],"msg":"Field required","input":{"type":"step"},'
                f'"url":"{ERRORS_URL}/missing"}}'
            ),
        ),
        (
            '{"type": "step", "data": "str"}',
            validation_error(
                '{"type":"dict_type","loc":["data"],"msg":"Input should be a valid dictionary",'
                f'"input":"str","url":"{ERRORS_URL}/dict_type"}}'
            ),
        ),
    ],
    ids=["unknown-type", "missing-type", "invalid-json", "extra-key", "missing-data", "str-data"],
)
async def test_echo_recoverable_errors(legacy_echo_server: LegacyServer, frame: str, reply: str) -> None:
    async with open_ws(legacy_echo_server) as ws:
        assert await exchange(ws, frame) == reply
        # The session survives: it still answers.
        assert await exchange(ws, '{"type": "reset"}') == ECHO_READY


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("[1, 2, 3]", "'list' object has no attribute 'get'"),
        ('"reset"', "'str' object has no attribute 'get'"),
        (b'{"type": "reset"}', "'text'"),
    ],
    ids=["json-array", "json-string", "binary-frame"],
)
async def test_echo_session_errors_close_1000(
    legacy_echo_server: LegacyServer, frame: str | bytes, message: str
) -> None:
    async with open_ws(legacy_echo_server) as ws:
        assert await exchange(ws, frame) == error("SESSION_ERROR", message)
        await expect_closed(ws, 1000)


# ----------------------------------------------------------------------------------- typed env


async def test_typed_reset_steps_validation_state(legacy_typed_server: LegacyServer) -> None:
    async with open_ws(legacy_typed_server) as ws:
        assert await exchange(ws, '{"type": "reset", "data": {"seed": 7}}') == typed_reset("7")
        assert await exchange(ws, step({"direction": "right", "amount": 2})) == typed_obs(2)
        assert await exchange(ws, step({"direction": "up", "amount": 2})) == validation_error(
            '{"type":"literal_error","loc":["direction"],"msg":"Input should be \'left\' or '
            '\'right\'","input":"up","ctx":{"expected":"\'left\' or \'right\'"},'
            f'"url":"{ERRORS_URL}/literal_error"}}'
        )
        assert await exchange(ws, step({"direction": "left"})) == validation_error(
            '{"type":"missing","loc":["amount"],"msg":"Field required",'
            f'"input":{{"direction":"left"}},"url":"{ERRORS_URL}/missing"}}'
        )
        assert await exchange(ws, step({"direction": "left", "amount": 1, "speed": 3})) == (
            validation_error(
                '{"type":"extra_forbidden","loc":["speed"],"msg":"Extra inputs are not permitted",'
                f'"input":3,"url":"{ERRORS_URL}/extra_forbidden"}}'
            )
        )
        assert await exchange(ws, step({"direction": "left", "amount": 99})) == validation_error(
            '{"type":"less_than_equal","loc":["amount"],"msg":"Input should be less than or equal '
            f'to 5","input":99,"ctx":{{"le":5}},"url":"{ERRORS_URL}/less_than_equal"}}'
        )
        # Lax validation: "2" is coerced to 2.
        assert await exchange(ws, step({"direction": "left", "amount": "2"})) == typed_obs(0)
        state = await exchange(ws, '{"type": "state"}')
        assert anonymize(state) == (
            '{"type":"state","data":{"episode_id":"<uuid>","step_count":2,"position":0,"seed":7}}'
        )


async def test_typed_execution_error_keeps_state(legacy_typed_server: LegacyServer) -> None:
    async with open_ws(legacy_typed_server) as ws:
        await exchange(ws, '{"type": "reset", "data": {"episode_id": "e-1"}}')
        assert await exchange(ws, step({"direction": "right", "amount": 1})) == typed_obs(1)
        failing = step({"direction": "right", "amount": 1, "fail": True})
        assert await exchange(ws, failing) == error("EXECUTION_ERROR", "step failed on purpose")
        assert await exchange(ws, '{"type": "state"}') == (
            '{"type":"state","data":{"episode_id":"e-1","step_count":1,"position":1,"seed":null}}'
        )


async def test_typed_episode_end_is_not_enforced(legacy_typed_server: LegacyServer) -> None:
    async with open_ws(legacy_typed_server) as ws:
        assert await exchange(ws, '{"type": "reset"}') == typed_reset("null")
        five = step({"direction": "right", "amount": 5})
        assert await exchange(ws, five) == typed_obs(5)
        assert await exchange(ws, five) == typed_obs(10, reward="1.0", done="true")
        assert await exchange(ws, five) == typed_obs(15, reward="1.0", done="true")


async def test_typed_step_before_reset_and_bad_reset(legacy_typed_server: LegacyServer) -> None:
    async with open_ws(legacy_typed_server) as ws:
        assert await exchange(ws, '{"type": "state"}') == (
            '{"type":"state","data":{"episode_id":null,"step_count":0,"position":0,"seed":null}}'
        )
        assert await exchange(ws, step({"direction": "left", "amount": 1})) == typed_obs(-1)
        assert await exchange(ws, '{"type": "state"}') == (
            '{"type":"state","data":{"episode_id":null,"step_count":1,"position":-1,"seed":null}}'
        )
        assert await exchange(ws, '{"type": "reset", "data": {"seed": -5}}') == typed_reset("-5")
        bad = '{"type": "reset", "data": {"seed": "abc", "episode_id": 12}}'
        assert await exchange(ws, bad) == validation_error(
            '{"type":"string_type","loc":["episode_id"],"msg":"Input should be a valid string",'
            f'"input":12,"url":"{ERRORS_URL}/string_type"}},'
            '{"type":"int_parsing","loc":["seed"],"msg":"Input should be a valid integer, unable '
            f'to parse string as an integer","input":"abc","url":"{ERRORS_URL}/int_parsing"}}'
        )
        state = await exchange(ws, '{"type": "state"}')
        assert anonymize(state) == (
            '{"type":"state","data":{"episode_id":"<uuid>","step_count":0,"position":0,"seed":-5}}'
        )


async def test_typed_capacity_frame_with_one_session() -> None:
    with start_legacy_server("typed", max_sessions=1) as server:
        async with open_ws(server) as first:
            assert await exchange(first, '{"type": "reset"}') == typed_reset("null")
            async with open_ws(server) as second:
                assert await recv_text(second) == (
                    '{"type":"error","data":{"message":"Server at capacity: 1/1 sessions active. '
                    'Cannot accept new connections.","code":"CAPACITY_REACHED",'
                    '"active_sessions":1,"max_sessions":1}}'
                )
                await expect_closed(second, 1000)
            # The first session is unaffected.
            assert await exchange(first, step({"direction": "right", "amount": 3})) == typed_obs(3)
