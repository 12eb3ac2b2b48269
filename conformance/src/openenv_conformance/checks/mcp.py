"""Profile `mcp`: tool access — `tools/list` and `tools/call` over `/ws` (`type: "mcp"`) and over
`POST /mcp`, and, when the server offers MCP streamable HTTP on `/mcp`, the official `mcp` client
SDK (initialize, list_tools, call_tool).

Contract: an environment without tools (JSON-RPC error on `tools/list`) is UNIMPLEMENTED, not a
failure. Tool arguments are generated from each tool's input schema.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from openenv_conformance.actions import valid_instance
from openenv_conformance.checks._common import disc, not_served
from openenv_conformance.context import CaseContext, dumps, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

STREAMABLE_ACCEPT = "application/json, text/event-stream"
MCP_PROTOCOL_VERSION = "2025-06-18"


def _tools_from(result: Any, where: str) -> list[dict[str, Any]]:
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        raise Fail(f"{where}: tools/list result has no 'tools' list")
    for tool in tools:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise Fail(f"{where}: tool entry without a string name: {dumps(tool)[:200]}")
        if not isinstance(tool.get("inputSchema"), dict):
            raise Fail(f"{where}: tool {tool['name']!r} has no object inputSchema")
    return tools


def _call_params(tools: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    tool = tools[0]
    return {
        "name": tool["name"],
        "arguments": valid_instance(tool["inputSchema"], rng, minimal=True),
    }


async def _ws_rpc(conn: Any, method: str, params: dict[str, Any] | None, rid: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        payload["params"] = params
    data = expect_type(await conn.request({"type": "mcp", "data": payload}), "mcp", method)
    if data.get("jsonrpc") != "2.0" or data.get("id") != rid:
        raise Fail(f"mcp reply to {method}: jsonrpc/id not echoed: {dumps(data)[:200]}")
    return data


def _no_tools(ctx: CaseContext, reply: dict[str, Any], where: str) -> str:
    """OE-MCP-015: an environment without tools answers with -32601 or -32603 — unless `/metadata`
    declared `capabilities.mcp`, a promise the missing tools break."""
    code = (reply.get("error") or {}).get("code")
    if code not in (-32601, -32603):
        raise Fail(f"{where}: tools/list error code {code}, expected -32601/-32603 (no tools)")
    if disc(ctx).declared_capabilities.get("mcp") is True:
        raise Fail(f"{where}: tools/list → JSON-RPC error {code}, although /metadata declares capabilities.mcp: true")
    return f"no tools: tools/list → JSON-RPC error {code}"


def _empty_tools(ctx: CaseContext) -> str:
    if disc(ctx).declared_capabilities.get("mcp") is True:
        raise Fail("tools/list lists no tools, although /metadata declares capabilities.mcp: true")
    return "the environment lists no tools"


def _call_result(result: Any, where: str) -> None:
    """OE-MCP-013: `content` array (MUST), `isError` boolean (SHOULD)."""
    if not isinstance(result, dict) or not isinstance(result.get("content"), list):
        raise Fail(f"{where}: tools/call result has no 'content' array")
    if not isinstance(result.get("isError"), bool):
        raise Fail(f"{where}: tools/call result has no boolean 'isError'", level=Level.SHOULD)


@check(
    "mcp.ws.tools",
    title="tools/list and tools/call over /ws type:mcp (or a JSON-RPC error without tools)",
    clauses=["OE-MCP-001", "OE-MCP-002", "OE-MCP-010", "OE-MCP-013", "OE-MCP-015", "OE-MCP-021"],
)
async def ws_tools(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    listed = await _ws_rpc(conn, "tools/list", None, "list-1")
    if "error" in listed:
        return _no_tools(ctx, listed, "/ws mcp")
    tools = _tools_from(listed.get("result"), "/ws mcp")
    if not tools:
        return _empty_tools(ctx)
    called = await _ws_rpc(conn, "tools/call", _call_params(tools, ctx.rng), 7)
    if "result" not in called:
        raise Fail(f"tools/call {tools[0]['name']} → {dumps(called)[:300]}")
    _call_result(called["result"], "/ws mcp")
    return f"{len(tools)} tool(s); called {tools[0]['name']}"


@check(
    "mcp.ws.notification",
    title="an mcp frame carrying a JSON-RPC notification gets no reply frame",
    clauses=["OE-MCP-004", "OE-WS-024"],
)
async def ws_notification(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    await conn.send({"type": "mcp", "data": {"jsonrpc": "2.0", "method": "notifications/x"}})
    reply = await conn.request({"type": "state"}, what="the reply to state")
    if reply.get("type") != "state":
        raise Fail(f"a notification was answered: {dumps(reply)[:300]}")
    return None


async def _http_rpc(ctx: CaseContext, method: str, params: Any, rid: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        payload["params"] = params
    resp = await ctx.http_call("POST", "/mcp", json_body=payload)
    if resp.status_code == 404:
        not_served(ctx, "POST /mcp is not served", "mcp")
    try:
        body = resp.json()
    except ValueError:
        raise Fail(f"POST /mcp {method}: body is not JSON") from None
    if not isinstance(body, dict) or body.get("id") != rid:
        raise Fail(f"POST /mcp {method}: reply does not echo id {rid!r}: {str(body)[:200]}")
    return body


@check(
    "mcp.http.tools",
    title="tools/list and tools/call over POST /mcp without initialize",
    clauses=["OE-MCP-010", "OE-MCP-013", "OE-MCP-015", "OE-MCP-021"],
)
async def http_tools(ctx: CaseContext) -> str | None:
    listed = await _http_rpc(ctx, "tools/list", None, 1)
    if "error" in listed:
        return _no_tools(ctx, listed, "POST /mcp")
    tools = _tools_from(listed.get("result"), "POST /mcp")
    if not tools:
        return _empty_tools(ctx)
    called = await _http_rpc(ctx, "tools/call", _call_params(tools, ctx.rng), 2)
    if "result" not in called:
        raise Fail(f"tools/call {tools[0]['name']} → {str(called)[:300]}")
    _call_result(called["result"], "POST /mcp")
    return None


async def _tools_or_skip(ctx: CaseContext) -> list[dict[str, Any]]:
    listed = await _http_rpc(ctx, "tools/list", None, "probe")
    if "error" in listed:
        not_served(ctx, "the environment has no tools", "mcp")
    tools = _tools_from(listed.get("result"), "POST /mcp")
    if not tools:
        not_served(ctx, "the environment lists no tools", "mcp")
    return tools


@check(
    "mcp.tools.call_params",
    title="tools/call without params.name → -32602",
    clauses=["OE-MCP-011"],
)
async def call_params(ctx: CaseContext) -> str | None:
    await _tools_or_skip(ctx)
    reply = await _http_rpc(ctx, "tools/call", {"arguments": {}}, 11)
    code = (reply.get("error") or {}).get("code")
    if code != -32602:
        raise Fail(f"tools/call without name → {code}, expected -32602")
    return None


@check(
    "mcp.tools.unknown_tool",
    title="tools/call naming an unknown tool → -32602",
    clauses=["OE-MCP-012"],
)
async def unknown_tool(ctx: CaseContext) -> str | None:
    await _tools_or_skip(ctx)
    reply = await _http_rpc(ctx, "tools/call", {"name": "zz_no_such_tool", "arguments": {}}, 12)
    code = (reply.get("error") or {}).get("code")
    if code != -32602:
        raise Fail(f"unknown tool → {code if code else 'a result'}, expected -32602")
    return None


@check(
    "mcp.lifecycle.initialize",
    title="initialize is answered with protocolVersion, capabilities.tools and serverInfo",
    clauses=["OE-MCP-020"],
)
async def initialize(ctx: CaseContext) -> str | None:
    params = {"protocolVersion": MCP_PROTOCOL_VERSION, "capabilities": {},
              "clientInfo": {"name": "openenv-conformance", "version": "1"}}  # fmt: skip
    reply = await _http_rpc(ctx, "initialize", params, 21)
    result = reply.get("result")
    if not isinstance(result, dict):
        raise Fail(f"initialize → {str(reply.get('error'))[:200]}")
    if not isinstance(result.get("protocolVersion"), str):
        raise Fail("initialize result has no protocolVersion")
    if not isinstance((result.get("capabilities") or {}).get("tools"), dict):
        raise Fail("initialize result has no capabilities.tools object")
    info = result.get("serverInfo") or {}
    if not (isinstance(info.get("name"), str) and isinstance(info.get("version"), str)):
        raise Fail("initialize result has no serverInfo name/version")
    return None


@check("mcp.lifecycle.ping", title="ping is answered with an empty result", clauses=["OE-MCP-022"])
async def ping(ctx: CaseContext) -> str | None:
    reply = await _http_rpc(ctx, "ping", None, 22)
    if reply.get("result") != {}:
        raise Fail(f"ping → {json.dumps(reply)[:200]}, expected result {{}}")
    return None


@check(
    "mcp.session.methods",
    title="openenv/session/create and /close work, or are answered -32601",
    clauses=["OE-MCP-030"],
)
async def session_methods(ctx: CaseContext) -> str | None:
    created = await _http_rpc(ctx, "openenv/session/create", None, 31)
    if "error" in created:
        code = created["error"].get("code")
        if code != -32601:
            raise Fail(f"openenv/session/create → error {code}, expected a result or -32601")
        return "session methods not implemented (-32601)"
    sid = (created.get("result") or {}).get("session_id")
    if not isinstance(sid, str) or not sid:
        raise Fail(f"openenv/session/create result has no session_id: {str(created)[:200]}")
    closed = await _http_rpc(ctx, "openenv/session/close", {"session_id": sid}, 32)
    if "result" not in closed:
        raise Fail(f"openenv/session/close → {str(closed)[:200]}")
    return None


@check(
    "mcp.session.unknown_id",
    title="a tools request addressing an unknown session_id → -32602",
    clauses=["OE-MCP-033"],
)
async def unknown_session(ctx: CaseContext) -> str | None:
    reply = await _http_rpc(ctx, "tools/list", {"session_id": "zz-no-such-session"}, 33)
    code = (reply.get("error") or {}).get("code")
    if code != -32602:
        if "result" in reply:
            raise Fail("tools/list with an unknown session_id returned a result")
        raise Fail(f"unknown session_id → {code}, expected -32602")
    return None


async def _offers_streamable(ctx: CaseContext) -> bool:
    payload = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": MCP_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "openenv-conformance", "version": "1"},
        },
    }
    resp = await ctx.http_call("POST", "/mcp", json_body=payload, headers={"accept": STREAMABLE_ACCEPT})
    if resp.status_code != 200:
        return False
    text = resp.text
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        return '"protocolVersion"' in text
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("result"), dict) and ("protocolVersion" in body["result"])


@check(
    "mcp.streamable.sdk",
    title="the official MCP client SDK can initialize, list and call tools (streamable HTTP)",
    clauses=["OE-MCP-020", "OE-MCP-013"],
)
async def streamable_sdk(ctx: CaseContext) -> str | None:
    if not await _offers_streamable(ctx):
        raise Unimplemented("POST /mcp does not answer MCP initialize (no streamable HTTP)")
    await _tools_or_skip(ctx)  # an environment without tools answers tools/list with an error (OE-MCP-015)
    try:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client
    except ImportError as exc:
        raise Undecided(f"the mcp client SDK is not installed: {exc}") from None
    url = ctx.target.http_url("/mcp")
    ctx.note("mcp-sdk", "open", f"streamable_http_client({url})")

    async def drive() -> str:
        async with (
            streamable_http_client(url) as streams,
            ClientSession(streams[0], streams[1], read_timeout_seconds=ctx.timeout_s) as session,
        ):
            init = await session.initialize()
            ctx.note("mcp-sdk", "recv", f"initialize → {init.protocol_version!r}")
            listed = await session.list_tools()
            names = [t.name for t in listed.tools]
            ctx.note("mcp-sdk", "recv", f"list_tools → {names}")
            if not names:
                return "initialized; no tools listed"
            tool = listed.tools[0]
            args = valid_instance(dict(tool.input_schema or {}), ctx.rng, minimal=True)
            result = await session.call_tool(tool.name, args)
            ctx.note("mcp-sdk", "recv", f"call_tool({tool.name}) → is_error={result.is_error}")
            return f"initialize/list_tools/call_tool ok ({len(names)} tools)"

    try:
        return await asyncio.wait_for(drive(), ctx.timeout_s * 3)
    except TimeoutError:
        raise Fail("the MCP SDK session did not complete in time") from None
    except Exception as exc:
        raise Fail(f"MCP SDK session failed: {exc!r}") from None
