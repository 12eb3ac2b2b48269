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
from openenv_conformance.context import CaseContext, dumps, expect_type
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
    return {"name": tool["name"], "arguments": valid_instance(tool["inputSchema"], rng, minimal=True)}


async def _ws_rpc(conn: Any, method: str, params: dict[str, Any] | None, rid: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        payload["params"] = params
    data = expect_type(await conn.request({"type": "mcp", "data": payload}), "mcp", method)
    if data.get("jsonrpc") != "2.0" or data.get("id") != rid:
        raise Fail(f"mcp reply to {method}: jsonrpc/id not echoed: {dumps(data)[:200]}")
    return data


@check("mcp.ws.tools", title="tools/list and tools/call over /ws type:mcp")
async def ws_tools(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    listed = await _ws_rpc(conn, "tools/list", None, "list-1")
    if "error" in listed:
        raise Unimplemented(f"tools/list → JSON-RPC error {listed['error']}: no MCP tools")
    tools = _tools_from(listed.get("result"), "/ws mcp")
    if not tools:
        raise Unimplemented("the environment lists no tools")
    called = await _ws_rpc(conn, "tools/call", _call_params(tools, ctx.rng), 7)
    if "result" not in called:
        raise Fail(f"tools/call {tools[0]['name']} → {dumps(called)[:300]}")
    return f"{len(tools)} tool(s); called {tools[0]['name']}"


async def _http_rpc(ctx: CaseContext, method: str, params: Any, rid: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        payload["params"] = params
    resp = await ctx.http_call("POST", "/mcp", json_body=payload)
    if resp.status_code == 404:
        raise Unimplemented("POST /mcp is not served")
    try:
        body = resp.json()
    except ValueError:
        raise Fail(f"POST /mcp {method}: body is not JSON") from None
    if not isinstance(body, dict) or body.get("id") != rid:
        raise Fail(f"POST /mcp {method}: reply does not echo id {rid!r}: {str(body)[:200]}")
    return body


@check("mcp.http.tools", title="tools/list and tools/call over POST /mcp")
async def http_tools(ctx: CaseContext) -> str | None:
    listed = await _http_rpc(ctx, "tools/list", None, 1)
    if "error" in listed:
        raise Unimplemented(f"tools/list → JSON-RPC error {listed['error']}: no MCP tools")
    tools = _tools_from(listed.get("result"), "POST /mcp")
    if not tools:
        raise Unimplemented("the environment lists no tools")
    called = await _http_rpc(ctx, "tools/call", _call_params(tools, ctx.rng), 2)
    if "result" not in called:
        raise Fail(f"tools/call {tools[0]['name']} → {str(called)[:300]}")
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
    resp = await ctx.http_call(
        "POST", "/mcp", json_body=payload, headers={"accept": STREAMABLE_ACCEPT}
    )
    if resp.status_code != 200:
        return False
    text = resp.text
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        return '"protocolVersion"' in text
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("result"), dict) and (
        "protocolVersion" in body["result"]
    )


@check(
    "mcp.streamable.sdk",
    title="the official MCP client SDK can initialize, list and call tools (streamable HTTP)",
)
async def streamable_sdk(ctx: CaseContext) -> str | None:
    if not await _offers_streamable(ctx):
        raise Unimplemented("POST /mcp does not answer MCP initialize (no streamable HTTP)")
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
