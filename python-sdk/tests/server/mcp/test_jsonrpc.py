"""`tools/call` failures: a result with `isError`; an `EnvironmentFault`'s text reaches the client,
anything else only by class name (OE-SEC-003), as for steps."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import orjson
import pytest
from openenv.server import EnvironmentFault, MCPEnvironment, create_app, tool
from openenv.server.background import BackgroundServer
from openenv.server.mcp.jsonrpc import MCP_PROTOCOL_VERSIONS, McpDispatcher

from tests.wire import Peer

PV = "io.modelcontextprotocol/protocolVersion"


class FaultyTools(MCPEnvironment):
    @tool
    def locked(self) -> str:
        """Refuse, with a message for the client."""
        raise EnvironmentFault("the door is locked")

    @tool
    def broken(self) -> str:
        """Fail with an internal error."""
        raise KeyError("secret-internal-detail")


def call(name: str) -> dict[str, Any]:
    service = create_app(FaultyTools).service
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    reply = asyncio.run(McpDispatcher(None, service).handle(request))
    assert reply is not None and service.capacity.active == 0  # the stateless call gave its slot back
    result: dict[str, Any] = reply["result"]
    return result


def test_environment_fault_text_reaches_the_client() -> None:
    result = call("locked")
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "the door is locked"}]


def test_other_failures_name_only_the_class() -> None:
    result = call("broken")
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "broken failed (KeyError)"}]
    assert "secret" not in str(result)


# --- the 2026-07-28 revision and the error codes of every JSON-RPC surface --------------------------

MODERN = "2026-07-28"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


def modern_request(method: str, request_id: int = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": dict(ENVELOPE)}}


def modern_headers(method: str, name: str | None = None, version: str = MODERN) -> dict[str, str]:
    headers = {"MCP-Protocol-Version": version, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


def post(server: BackgroundServer, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{server.base_url}/mcp", content=content, headers=headers or {}, timeout=10)


def test_2026_07_28_discover_list_and_call_over_http(echo_server: BackgroundServer) -> None:
    discover = post(echo_server, modern_request("server/discover"), modern_headers("server/discover"))
    assert discover.status_code == 200 and "mcp-session-id" not in discover.headers
    result = discover.json()["result"]
    assert result["supportedVersions"][0] == MODERN and "2025-11-25" in result["supportedVersions"]
    assert result["resultType"] == "complete" and result["capabilities"]["tools"] == {"listChanged": False}
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "echo_env"
    assert isinstance(result["ttlMs"], int) and result["cacheScope"] in ("public", "private")
    listed = post(echo_server, modern_request("tools/list"), modern_headers("tools/list")).json()["result"]
    assert listed["resultType"] == "complete" and listed["tools"][0]["name"] == "echo_message"
    assert {"ttlMs", "cacheScope"} <= set(listed)
    call = modern_request("tools/call", name="echo_with_length", arguments={"message": "abc"})
    called = post(echo_server, call, modern_headers("tools/call", "echo_with_length")).json()["result"]
    assert called["resultType"] == "complete" and called["isError"] is False
    assert called["structuredContent"] == {"message": "abc", "length": 3}
    assert not {"structured_content", "is_error", "data"} & set(called)  # 0.10's keys: handshake era only
    wrapped = "=?base64?" + base64.b64encode(b"echo_message").decode() + "?="  # the header's base64 form
    echoed = modern_request("tools/call", name="echo_message", arguments={"message": "hi"})
    assert post(echo_server, echoed, modern_headers("tools/call", wrapped)).json()["result"]["isError"] is False


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        # the envelope is required (-32602), then the headers must match it (-32020) …
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, modern_headers("tools/list"), 400, -32602),
        (modern_request("tools/list"), {"Mcp-Method": "tools/list"}, 400, -32020),
        (modern_request("tools/list"), modern_headers("tools/call"), 400, -32020),
        (modern_request("tools/call", name="echo_message"), modern_headers("tools/call", "other"), 400, -32020),
        (modern_request("tools/call", name="echo_message"), modern_headers("tools/call"), 400, -32020),
        # … then the version must be served (-32022)
        ({**modern_request("tools/list"), "params": {"_meta": {**ENVELOPE, PV: "2099-01-01"}}}, None, 400, -32022),
        # the handshake's methods are gone at 2026-07-28
        (modern_request("ping"), modern_headers("ping"), 404, -32601),
        (modern_request("initialize"), modern_headers("initialize"), 404, -32601),
        (modern_request("resources/list"), modern_headers("resources/list"), 404, -32601),
        (modern_request("tools/call", name="nope"), modern_headers("tools/call", "nope"), 400, -32602),
        (modern_request("tools/call", name=7), modern_headers("tools/call"), 400, -32602),
        (b"{not json", modern_headers("tools/list"), 400, -32700),
        ([modern_request("tools/list")], modern_headers("tools/list"), 400, -32600),
        ({**modern_request("tools/list"), "jsonrpc": "1.0"}, modern_headers("tools/list"), 400, -32600),
    ],
)
def test_2026_07_28_errors_over_http(
    echo_server: BackgroundServer, body: Any, headers: dict[str, str] | None, status: int, code: int
) -> None:
    if headers is None:  # the header names the version the envelope names
        headers = modern_headers("tools/list", version=body["params"]["_meta"][PV])
    reply = post(echo_server, body, headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), reply.text
    if code == -32022:
        assert reply.json()["error"]["data"] == {"supported": list(MCP_PROTOCOL_VERSIONS), "requested": "2099-01-01"}


def test_repeated_routing_header_is_a_mismatch(echo_server: BackgroundServer) -> None:
    headers = [("MCP-Protocol-Version", MODERN), ("MCP-Protocol-Version", MODERN), ("Mcp-Method", "tools/list")]
    reply = httpx.post(
        f"{echo_server.base_url}/mcp", content=orjson.dumps(modern_request("tools/list")), headers=headers
    )
    assert (reply.status_code, reply.json()["error"]["code"]) == (400, -32020)


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
        {"jsonrpc": "2.0", "method": "no/such/method"},
        [{"jsonrpc": "2.0", "method": "notifications/initialized"}, {"jsonrpc": "2.0", "method": "x"}],
    ],
)
@pytest.mark.parametrize("headers", [{}, modern_headers("notifications/initialized")])
def test_notifications_are_never_answered_over_http(
    echo_server: BackgroundServer, body: Any, headers: dict[str, str]
) -> None:
    reply = post(echo_server, body, headers)
    assert reply.status_code == 202 and reply.content == b""


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "1.0", "method": "malformed"},
        {"jsonrpc": "2.0", "method": 7},
        {"jsonrpc": "2.0", "method": "x", "params": [1]},
        [{"jsonrpc": "2.0", "method": "notifications/initialized"}, {"jsonrpc": "2.0"}],
        [],
    ],
)
@pytest.mark.parametrize(("headers", "status"), [({}, 200), (modern_headers("x"), 400)])
def test_a_malformed_message_without_id_is_not_a_notification(
    echo_server: BackgroundServer, body: Any, headers: dict[str, str], status: int
) -> None:
    reply = post(echo_server, body, headers)
    assert (reply.status_code, reply.json()["error"]["code"], reply.json()["id"]) == (status, -32600, None)


def test_handshake_era_unchanged_for_base_level_peers(echo_server: BackgroundServer) -> None:
    """No envelope and no 2026-07-28 header: 0.10's behaviour (200 for errors, 0.10's result keys)."""
    unknown = post(echo_server, {"jsonrpc": "2.0", "id": 1, "method": "no/such"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (200, -32601)
    discover = post(echo_server, {"jsonrpc": "2.0", "id": 1, "method": "server/discover"})
    assert (discover.status_code, discover.json()["error"]["code"]) == (200, -32601)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo_message", "arguments": {}}}
    assert post(echo_server, call).status_code == 200
    ok = {**call, "params": {"name": "echo_message", "arguments": {"message": "m"}}}
    result = post(echo_server, ok, {"MCP-Protocol-Version": "2025-06-18"}).json()["result"]
    assert result["is_error"] is False and result["data"] == "m" and "resultType" not in result
    for asked, kept in [("2025-03-26", "2025-03-26"), ("2026-07-28", "2025-11-25"), ("1999-01-01", "2025-11-25")]:
        init = {"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"protocolVersion": asked}}
        assert post(echo_server, init).json()["result"]["protocolVersion"] == kept


def test_2026_07_28_named_sessions(echo_server: BackgroundServer) -> None:
    created = post(echo_server, modern_request("openenv/session/create"), modern_headers("openenv/session/create"))
    session_id = created.json()["result"]["session_id"]
    call = modern_request("tools/call", name="echo_message", arguments={"message": "s"}, session_id=session_id)
    assert post(echo_server, call, modern_headers("tools/call", "echo_message")).json()["result"]["isError"] is False
    close = modern_request("openenv/session/close", session_id=session_id)
    assert post(echo_server, close, modern_headers("openenv/session/close")).json()["result"]["closed"] is True
    again = post(echo_server, close, modern_headers("openenv/session/close"))
    assert (again.status_code, again.json()["error"]["code"]) == (400, -32602)


def test_2026_07_28_over_websocket_uses_the_envelope_alone(echo_server: BackgroundServer) -> None:
    with Peer(echo_server.ws_url, v1=True) as peer:
        peer.ask({"type": "reset"})
        listed = peer.ask({"type": "mcp", "data": modern_request("tools/list")})["data"]["result"]
        assert listed["resultType"] == "complete"
        ping = peer.ask({"type": "mcp", "data": modern_request("ping")})["data"]
        assert ping["error"]["code"] == -32601
        unsupported = {**modern_request("tools/list"), "params": {"_meta": {**ENVELOPE, PV: "2099-01-01"}}}
        assert peer.ask({"type": "mcp", "data": unsupported})["data"]["error"]["code"] == -32022
        # a notification gets no reply: the next frame answers the state request
        peer.send({"type": "mcp", "data": {"jsonrpc": "2.0", "method": "no/such"}})
        assert peer.ask({"type": "state"})["type"] == "state"
        # an `mcp` frame carries one message: a batch is an invalid frame (OE-MCP-007), not JSON-RPC
        batch = peer.ask({"type": "mcp", "data": [{"jsonrpc": "2.0", "method": "notifications/initialized"}]})
        assert batch["type"] == "error" and batch["data"]["code"] == "VALIDATION_ERROR"


def test_an_environment_that_fails_outside_a_tool_is_an_internal_error() -> None:
    service = create_app(BrokenTools).service
    reply = asyncio.run(McpDispatcher(None, service).handle(modern_request("tools/call", name="noop")))
    assert reply is not None and reply["error"] == {"code": -32603, "message": "Internal error"}
    assert service.capacity.active == 0


class BrokenTools(MCPEnvironment):
    def __init__(self) -> None:
        raise RuntimeError("no database")

    @tool
    def noop(self) -> str:
        """Nothing."""
        return ""
