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
from collections.abc import Awaitable
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
            await _sdk_call_first_tool(ctx, session, listed.tools)
            return f"initialize/list_tools/call_tool ok ({len(names)} tools)"

    return await _sdk_within_bound(ctx, drive(), "MCP SDK session")


async def _sdk_call_first_tool(ctx: CaseContext, caller: Any, tools: list[Any]) -> None:
    """Call the first listed tool with minimal valid arguments through an SDK session or client."""
    tool = tools[0]
    args = valid_instance(dict(tool.input_schema or {}), ctx.rng, minimal=True)
    result = await caller.call_tool(tool.name, args)
    ctx.note("mcp-sdk", "recv", f"call_tool({tool.name}) → is_error={result.is_error}")


async def _sdk_within_bound(ctx: CaseContext, drive: Awaitable[str], what: str) -> str:
    """Run an SDK conversation bounded by three case timeouts; any failure of the SDK is a FAIL."""
    try:
        return await asyncio.wait_for(drive, ctx.timeout_s * 3)
    except TimeoutError:
        raise Fail(f"{what} did not complete in time") from None
    except Fail:
        raise
    except Exception as exc:
        raise Fail(f"{what} failed: {exc!r}") from None


# --- MCP revision 2026-07-28 (stateless), notifications, error codes on /ws (spec/mcp.md, RFC 0017) --

MODERN = "2026-07-28"
PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"


def _modern(method: str, rid: Any, params: dict[str, Any] | None = None, version: str = MODERN) -> dict[str, Any]:
    meta = {PROTOCOL_VERSION_KEY: version, CLIENT_CAPABILITIES_KEY: {},
            "io.modelcontextprotocol/clientInfo": {"name": "openenv-conformance", "version": "1"}}  # fmt: skip
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {**(params or {}), "_meta": meta}}


def _modern_headers(method: str, name: str | None = None, version: str = MODERN) -> dict[str, str]:
    headers = {"mcp-protocol-version": version, "mcp-method": method, "accept": STREAMABLE_ACCEPT}
    if name is not None:
        headers["mcp-name"] = name
    return headers


async def _post(ctx: CaseContext, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    content = body if isinstance(body, str) else json.dumps(body)
    resp = await ctx.http_call("POST", "/mcp", content=content, headers={"content-type": "application/json", **headers})
    if resp.status_code == 404 and not resp.content:
        not_served(ctx, "POST /mcp is not served", "mcp")
    if not resp.content:
        return resp.status_code, None
    try:
        return resp.status_code, resp.json()
    except ValueError:
        raise Fail(f"POST /mcp → HTTP {resp.status_code} with a body that is not JSON: {resp.text[:200]}") from None


async def _discovered(ctx: CaseContext) -> dict[str, Any]:
    """The `server/discover` result at 2026-07-28; UNIMPLEMENTED when the revision is not served."""
    status, reply = await _post(ctx, _modern("server/discover", "discover"), _modern_headers("server/discover"))
    error = reply.get("error") if isinstance(reply, dict) else None
    if isinstance(error, dict) and error.get("code") in (-32601, -32602, -32022):
        raise Unimplemented(f"MCP 2026-07-28 not served: server/discover → {error.get('code')} (HTTP {status})")
    if status != 200 or not isinstance(reply, dict) or not isinstance(reply.get("result"), dict):
        raise Fail(f"server/discover at 2026-07-28 → HTTP {status} {dumps(reply)[:200]}")
    if reply.get("id") != "discover":
        raise Fail(f"server/discover reply does not echo the id: {dumps(reply)[:200]}")
    return dict(reply["result"])


def _modern_result(result: Any, method: str) -> dict[str, Any]:
    """OE-MCP-043: `resultType` (MUST), the serverInfo stamp (SHOULD)."""
    if not isinstance(result, dict):
        raise Fail(f"{method} at 2026-07-28: result is not an object")
    if result.get("resultType") != "complete":
        raise Fail(f"{method} at 2026-07-28: resultType is {result.get('resultType')!r}, expected 'complete'")
    return result


def _cache_hints(result: dict[str, Any], method: str) -> None:
    ttl = result.get("ttlMs")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise Fail(f"{method} at 2026-07-28: ttlMs is {ttl!r}, expected an integer ≥ 0")
    if result.get("cacheScope") not in ("public", "private"):
        raise Fail(f"{method} at 2026-07-28: cacheScope is {result.get('cacheScope')!r}")


@check(
    "mcp.modern.discover",
    title="MCP 2026-07-28: server/discover, then tools/list and tools/call with the per-request envelope",
    clauses=["OE-MCP-040", "OE-MCP-041", "OE-MCP-043"],
)
async def modern_discover(ctx: CaseContext) -> str | None:
    result = _modern_result(await _discovered(ctx), "server/discover")
    versions = result.get("supportedVersions")
    if not isinstance(versions, list) or MODERN not in versions:
        raise Fail(f"server/discover: supportedVersions {versions!r} does not list {MODERN}")
    if not isinstance(result.get("capabilities"), dict):
        raise Fail("server/discover: no capabilities object")
    _cache_hints(result, "server/discover")
    status, listed = await _post(ctx, _modern("tools/list", 2), _modern_headers("tools/list"))
    if isinstance(listed, dict) and isinstance(listed.get("error"), dict):
        code = listed["error"].get("code")
        if code != -32601 or status != 404:
            raise Fail(f"tools/list at 2026-07-28 → HTTP {status}, error {code}; expected a result or 404/-32601")
        if disc(ctx).declared_capabilities.get("mcp") is True:
            raise Fail("tools/list at 2026-07-28 → -32601, although /metadata declares capabilities.mcp: true")
        return "2026-07-28 served; no tools"
    tools_result = _modern_result((listed or {}).get("result"), "tools/list")
    _cache_hints(tools_result, "tools/list")
    tools = _tools_from(tools_result, "tools/list at 2026-07-28")
    if not isinstance(result["capabilities"].get("tools"), dict):
        raise Fail("server/discover: the environment has tools but capabilities has no tools object")
    if not tools:
        return "2026-07-28 served; the environment lists no tools"
    params = _call_params(tools, ctx.rng)
    status, called = await _post(ctx, _modern("tools/call", 3, params), _modern_headers("tools/call", params["name"]))
    call_result = _modern_result((called or {}).get("result"), "tools/call")
    _call_result(call_result, "tools/call at 2026-07-28")
    if not isinstance((call_result.get("_meta") or {}).get(SERVER_INFO_KEY), dict):
        raise Fail("2026-07-28 results carry no _meta serverInfo stamp", level=Level.SHOULD)
    return f"2026-07-28: {len(tools)} tool(s); called {params['name']}"


@check(
    "mcp.modern.envelope",
    title="MCP 2026-07-28: the envelope, header and version checks, removed methods and HTTP statuses",
    clauses=["OE-MCP-042", "OE-MCP-044", "OE-MCP-045"],
)
async def modern_envelope(ctx: CaseContext) -> str | None:
    await _discovered(ctx)
    bare = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    future = _modern("tools/list", 4, version="2099-01-01")
    probes: list[tuple[str, Any, dict[str, str], int, int]] = [
        ("no params._meta", bare, _modern_headers("tools/list"), 400, -32602),
        ("no MCP-Protocol-Version header", _modern("tools/list", 2), {"mcp-method": "tools/list"}, 400, -32020),
        ("Mcp-Method not matching", _modern("tools/list", 3), _modern_headers("tools/call"), 400, -32020),
        ("a revision not served", future, _modern_headers("tools/list", version="2099-01-01"), 400, -32022),
        ("ping (removed)", _modern("ping", 5), _modern_headers("ping"), 404, -32601),
        ("initialize (removed)", _modern("initialize", 6), _modern_headers("initialize"), 404, -32601),
        ("an unknown method", _modern("zz/no-such-method", 7), _modern_headers("zz/no-such-method"), 404, -32601),
        ("a body that is not JSON", "{bad", _modern_headers("tools/list"), 400, -32700),
        ("jsonrpc 1.0", {**_modern("tools/list", 8), "jsonrpc": "1.0"}, _modern_headers("tools/list"), 400, -32600),
    ]
    for what, body, headers, status, code in probes:
        got_status, reply = await _post(ctx, body, headers)
        error = reply.get("error") if isinstance(reply, dict) else None
        got = error.get("code") if isinstance(error, dict) else None
        if (got_status, got) != (status, code):
            shown = f"error {got}" if got is not None else f"{dumps(reply)[:160]}"
            raise Fail(f"2026-07-28, {what} → HTTP {got_status}, {shown}; expected HTTP {status}, error {code}")
        if code == -32022:
            data = error.get("data") if isinstance(error, dict) else None
            if not (isinstance(data, dict) and isinstance(data.get("supported"), list) and MODERN in data["supported"]):
                raise Fail(f"-32022 without data.supported listing {MODERN}: {dumps(error)[:200]}")
            if data.get("requested") != "2099-01-01":
                raise Fail(f"-32022 data.requested is {data.get('requested')!r}, expected '2099-01-01'")
    resp = await ctx.http_call(
        "POST", "/mcp", content=json.dumps(_modern("server/discover", 9)), headers=_modern_headers("server/discover")
    )
    if "mcp-session-id" in resp.headers:
        raise Fail("a 2026-07-28 response carries Mcp-Session-Id")
    return None


@check(
    "mcp.notifications",
    title="notifications are never answered (unknown methods, either era, a batch of them); malformed ones are",
    clauses=["OE-MCP-003", "OE-MCP-004", "OE-MCP-009"],
)
async def notifications(ctx: CaseContext) -> str | None:
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    probes: list[tuple[str, Any, dict[str, str]]] = [
        ("an unknown method", {"jsonrpc": "2.0", "method": "zz/no-such-notification"}, {}),
        ("a failing one", {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}, {}),
        ("a batch of notifications only", [note, {"jsonrpc": "2.0", "method": "zz/other"}], {}),
        ("one with a 2026-07-28 header", note, _modern_headers("notifications/initialized")),
    ]
    for what, body, headers in probes:
        status, reply = await _post(ctx, body, headers)
        if reply is not None or status != 202:
            raise Fail(f"{what}: answered with HTTP {status} {dumps(reply)[:200] if reply is not None else ''}")
    # a malformed message without id is not a notification: -32600 with id null (OE-MCP-003)
    status, reply = await _post(ctx, '{"jsonrpc":"1.0","method":"tools/list"}', {})
    error = reply.get("error") if isinstance(reply, dict) else None
    if not isinstance(error, dict) or error.get("code") != -32600 or reply.get("id", "absent") is not None:
        raise Fail(f"a malformed message without id → HTTP {status} {dumps(reply)[:200]}; expected -32600, id null")
    return None


@check(
    "mcp.ws.errors",
    title="mcp frames: the JSON-RPC error codes (-32600, -32601, -32602) and id echo",
    clauses=["OE-MCP-001", "OE-MCP-002", "OE-MCP-003", "OE-MCP-006", "OE-MCP-011", "OE-MCP-012"],
)
async def ws_errors(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    listed = await _ws_rpc(conn, "tools/list", None, "errors-list")
    has_tools = "result" in listed and bool((listed.get("result") or {}).get("tools"))
    probes: list[tuple[str, dict[str, Any], int, Any]] = [
        ("jsonrpc 1.0", {"jsonrpc": "1.0", "id": 1, "method": "tools/list"}, -32600, 1),
        ("params an array", {"jsonrpc": "2.0", "id": "p", "method": "tools/list", "params": [1]}, -32600, "p"),
        ("no method, no id", {"jsonrpc": "2.0", "params": {}}, -32600, None),
        ("an unknown method", {"jsonrpc": "2.0", "id": 4, "method": "zz/no-such-method"}, -32601, 4),
    ]
    if has_tools:
        probes += [
            ("tools/call without name", {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {}}, -32602, 5),
            (
                "an unknown tool",
                {
                    "jsonrpc": "2.0",
                    "id": "t",
                    "method": "tools/call",
                    "params": {"name": "zz_no_such_tool", "arguments": {}},
                },
                -32602,
                "t",
            ),
        ]
    for what, message, code, rid in probes:
        data = expect_type(await conn.request({"type": "mcp", "data": message}), "mcp", what)
        error = data.get("error")
        got = error.get("code") if isinstance(error, dict) else None
        if data.get("jsonrpc") != "2.0" or got != code:
            level = Level.SHOULD if what == "an unknown tool" else None  # OE-MCP-012 is a SHOULD
            raise Fail(f"mcp frame, {what} → {dumps(data)[:200]}; expected error {code}", level=level)
        echoed = data.get("id") == rid and type(data.get("id")) is type(rid)
        if not echoed and not (code == -32600 and data.get("id") is None):  # as http.mcp.errors: null allowed
            raise Fail(f"mcp frame, {what} → id {data.get('id')!r}, expected {rid!r}")
    return None if has_tools else "no tools: the tools/call codes were not probed"


@check(
    "mcp.streamable.sdk_stateless",
    title="the official MCP client SDK in its default mode ('auto') reaches 2026-07-28 and lists and calls tools",
    clauses=["OE-MCP-041", "OE-MCP-043"],
)
async def streamable_sdk_stateless(ctx: CaseContext) -> str | None:
    await _discovered(ctx)
    await _tools_or_skip(ctx)
    try:
        from mcp.client.client import Client
    except ImportError as exc:
        raise Undecided(f"the mcp client SDK is not installed (or predates 2026-07-28): {exc}") from None
    url = ctx.target.http_url("/mcp")
    ctx.note("mcp-sdk", "open", f"Client({url}, mode='auto')")

    async def drive() -> str:
        async with Client(url, read_timeout_seconds=ctx.timeout_s) as client:
            ctx.note("mcp-sdk", "recv", f"negotiated {client.protocol_version!r}")
            if client.protocol_version != MODERN:
                raise Fail(f"server/discover is served, but the SDK client negotiated {client.protocol_version!r}")
            listed = await client.list_tools()
            await _sdk_call_first_tool(ctx, client, listed.tools)
            return f"2026-07-28: list_tools/call_tool ok ({len(listed.tools)} tools)"

    return await _sdk_within_bound(ctx, drive(), "MCP SDK client (2026-07-28)")
