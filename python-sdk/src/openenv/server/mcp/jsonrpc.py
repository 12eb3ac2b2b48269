"""JSON-RPC 2.0 / MCP handling for `mcp` frames on `/ws` and for `POST /mcp`.

Two eras of MCP are served side by side (spec/mcp.md, RFC 0017):

* **handshake era** (revisions 2024-11-05 … 2025-11-25, and 0.10's own MCP client): `initialize`,
  `ping`, `tools/list`, `tools/call`; `tools/call` results carry the MCP keys (`content`,
  `structuredContent`, `isError`) and, for 0.10 clients, `structured_content`, `is_error` and
  `data`; on `POST /mcp` every response is `200`.
* **2026-07-28** (stateless): each request carries its own envelope in `params._meta`
  (protocol version, client capabilities) and, on HTTP, the `MCP-Protocol-Version` / `Mcp-Method`
  / `Mcp-Name` headers; `server/discover` replaces the handshake; every result carries
  `resultType`; errors get the revision's HTTP statuses (`400`, `404`).

A request is of the 2026-07-28 era when its `MCP-Protocol-Version` header names a revision that is
not a handshake revision, or, without that header, when its `params._meta` names a protocol version
that is not one. A message without `id` is a notification and is never answered, in either era.
Tool calls through JSON-RPC do not count as episode steps.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from openenv.errors import ServerError
from openenv.server.faults import CapacityExhausted, EnvironmentFault, ToolCallFailed, to_wire
from openenv.server.host import EnvHost
from openenv.server.service import EnvService
from openenv.server.tools import tool_result

logger = logging.getLogger(__name__)

MCP_MODERN_VERSIONS = ("2026-07-28",)
"""Revisions with the per-request envelope (no handshake, no protocol-level session)."""
MCP_HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
"""Revisions negotiated by `initialize`, newest first."""
MCP_PROTOCOL_VERSIONS = (*MCP_MODERN_VERSIONS, *MCP_HANDSHAKE_VERSIONS)
"""Every revision served, newest first (what `server/discover` and `-32022` list)."""

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)
SERVER_ERROR = -32000
HEADER_MISMATCH = -32020
"""2026-07-28: HTTP headers missing, repeated or not matching the request body."""
UNSUPPORTED_PROTOCOL_VERSION = -32022
"""2026-07-28: the envelope's protocol version is not served (`data`: `supported`, `requested`)."""

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
VERSION_HEADER, METHOD_HEADER, NAME_HEADER = "mcp-protocol-version", "mcp-method", "mcp-name"
NAME_PARAMS = {"tools/call": "name"}
"""Methods whose `Mcp-Name` header mirrors a params member (of those this server serves)."""

MODERN_HTTP_STATUS = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
"""HTTP status of a 2026-07-28 error response on `POST /mcp` (other codes: 200)."""
HANDSHAKE_ONLY_METHODS = frozenset({"initialize", "ping"})
"""Removed at 2026-07-28: answered `-32601` in that era."""
MODERN_ONLY_METHODS = frozenset({"server/discover"})
"""Added at 2026-07-28: answered `-32601` in the handshake era."""
MAX_HEADER_CHARS = 1024
_REPEATED = "\x00repeated"  # a routing header sent twice (no header value can hold NUL)

Headers = Mapping[str, str]


def rpc_error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def rpc_result(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


class _Rejected(ServerError):
    """A request refused with a JSON-RPC error before it reaches a method (turned into that error by
    `McpDispatcher`, never raised past it)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def decode_header_value(value: str) -> str | None:
    """An `Mcp-Name` value: verbatim, or the UTF-8 text of a `=?base64?…?=` wrapper (None if malformed)."""
    if not (value.startswith("=?base64?") and value.endswith("?=") and len(value) >= 11):
        return value
    payload = value[9:-2]
    try:
        raw = base64.b64decode(payload, validate=True)
        return raw.decode("utf-8") if base64.b64encode(raw).decode("ascii") == payload else None
    except (binascii.Error, UnicodeDecodeError):
        return None


def http_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """The MCP routing headers of an ASGI request (`-32020` when one is repeated)."""
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key in (VERSION_HEADER, METHOD_HEADER, NAME_HEADER):
            if key in found:
                found[key] = _REPEATED
            else:
                found[key] = value.decode("latin-1")[:MAX_HEADER_CHARS]
    return found


def modern_version(message: dict[str, Any], headers: Headers | None) -> str | None:
    """The 2026-07-28-era version a request asks for, or None for the handshake era (module docstring)."""
    if headers is not None and VERSION_HEADER in headers:
        asked = headers[VERSION_HEADER]
        return None if asked in MCP_HANDSHAKE_VERSIONS else asked
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta:
        asked = meta[PROTOCOL_VERSION_KEY]
        return None if isinstance(asked, str) and asked in MCP_HANDSHAKE_VERSIONS else str(asked)
    return None


def check_envelope(message: dict[str, Any], headers: Headers | None) -> str:
    """The 2026-07-28 request checks, in the revision's order; the served version, else `_Rejected`."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        keys = f"{PROTOCOL_VERSION_KEY!r} and {CLIENT_CAPABILITIES_KEY!r}"
        raise _Rejected(INVALID_PARAMS, f"params._meta must be an object carrying {keys}")
    missing = [key for key in (PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise _Rejected(INVALID_PARAMS, "params._meta is missing: " + ", ".join(missing))
    version = meta[PROTOCOL_VERSION_KEY]
    if headers is not None:
        repeated = [key for key, value in headers.items() if value == _REPEATED]
        if repeated:
            raise _Rejected(HEADER_MISMATCH, f"the {repeated[0]} header appears more than once")
        if headers.get(VERSION_HEADER) != version:
            raise _Rejected(HEADER_MISMATCH, "the MCP-Protocol-Version header does not match params._meta")
        method = message["method"]
        if headers.get(METHOD_HEADER) != method:
            raise _Rejected(HEADER_MISMATCH, "the Mcp-Method header does not match the request's method")
        name_key = NAME_PARAMS.get(method)
        named = params.get(name_key) if name_key is not None and isinstance(params, dict) else None
        if isinstance(named, str):
            header = headers.get(NAME_HEADER)
            if header is None or decode_header_value(header) != named:
                raise _Rejected(HEADER_MISMATCH, f"the Mcp-Name header does not match params.{name_key}")
    if not isinstance(version, str):
        raise _Rejected(INVALID_PARAMS, "the protocol version in params._meta must be a string")
    if version not in MCP_MODERN_VERSIONS:
        data = {"supported": list(MCP_PROTOCOL_VERSIONS), "requested": version}
        raise _Rejected(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data)
    return version


def http_status(response: dict[str, Any] | None, modern: bool) -> int:
    """`POST /mcp`'s status for `response`: 202 for none, 200 in the handshake era, else by code."""
    if response is None:
        return 202
    error = response.get("error")
    return MODERN_HTTP_STATUS.get(error["code"], 200) if modern and error is not None else 200


def _problem(message: dict[str, Any]) -> str | None:
    """What makes `message` not a well-formed request (OE-MCP-003), or None."""
    if message.get("jsonrpc") != "2.0":
        return "jsonrpc must be '2.0'"
    if not isinstance(message.get("method"), str):
        return "method must be a string"
    if not isinstance(message.get("params", {}), dict):
        return "params must be an object"
    extra = set(message) - {"jsonrpc", "id", "method", "params"}
    return "unexpected members: " + ", ".join(sorted(extra)) if extra else None


class MethodNotFound(ServerError):
    """The method is not served (here, in this era, or for this environment): `-32601` (turned into
    that error by `McpDispatcher`, never raised past it)."""


class McpDispatcher:
    """Answers JSON-RPC requests against one environment instance."""

    def __init__(self, host: EnvHost | None, service: EnvService) -> None:
        self.host = host
        self.service = service

    async def handle(self, message: Any, headers: Headers | None = None) -> dict[str, Any] | None:
        """The JSON-RPC response for `message`, or None when nothing is answered (notifications)."""
        return (await self.answer(message, headers))[0]

    async def answer(self, message: Any, headers: Headers | None = None) -> tuple[dict[str, Any] | None, bool]:
        """`(response, modern)`: the response (None for notifications) and whether it is of the
        2026-07-28 era. `headers` are the HTTP request's routing headers (None on `/ws`)."""
        asked = headers.get(VERSION_HEADER) if headers is not None else None
        header_modern = asked is not None and asked not in MCP_HANDSHAKE_VERSIONS
        if isinstance(message, list):
            if message and all(isinstance(item, dict) and "id" not in item and not _problem(item) for item in message):
                return None, header_modern  # only notifications: nothing to answer (OE-MCP-009)
            return rpc_error(None, INVALID_REQUEST, "Invalid request: batches are not supported"), header_modern
        if not isinstance(message, dict):
            return rpc_error(None, INVALID_REQUEST, "Invalid request: expected a JSON object"), header_modern
        problem = _problem(message)
        if "id" not in message:  # a notification, known or not, is never answered (OE-MCP-004) …
            if problem is None:
                return None, header_modern
            return rpc_error(None, INVALID_REQUEST, f"Invalid request: {problem}"), header_modern  # … a bad one is
        request_id = message["id"]
        if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
            return rpc_error(None, INVALID_REQUEST, "Invalid request: id must be a string or integer"), header_modern
        if problem is not None:
            return rpc_error(request_id, INVALID_REQUEST, f"Invalid request: {problem}"), header_modern
        method = message["method"]
        params = message.get("params", {})
        assert isinstance(method, str) and isinstance(params, dict)
        modern = modern_version(message, headers) is not None
        try:
            if modern:
                check_envelope(message, headers)
                result = await self._call_modern(method, params)
            else:
                result = await self._call(method, params, modern=False)
        except _Rejected as rejected:
            return rpc_error(request_id, rejected.code, rejected.message, rejected.data), modern
        except ToolCallFailed as failure:
            return rpc_error(request_id, INVALID_PARAMS, failure.message), modern
        except CapacityExhausted as full:
            data = {"active_sessions": full.active, "max_sessions": full.maximum}
            return rpc_error(request_id, SERVER_ERROR, "server at capacity", data), modern
        except MethodNotFound:
            return rpc_error(request_id, METHOD_NOT_FOUND, f"Method not found: {method}"), modern
        except Exception:  # the environment failed outside a tool (e.g. its constructor): no detail leaks
            logger.exception("MCP %s failed", method)
            return rpc_error(request_id, INTERNAL_ERROR, "Internal error"), modern
        return rpc_result(request_id, result), modern

    def _server_info(self) -> dict[str, Any]:
        return {"name": self.service.config.name, "version": self.service.config.version}

    async def _call_modern(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A 2026-07-28 request (its envelope checked): `resultType` and the serverInfo stamp added."""
        if method in HANDSHAKE_ONLY_METHODS:
            raise MethodNotFound(method)
        if method == "server/discover":
            result: dict[str, Any] = {
                "supportedVersions": list(MCP_PROTOCOL_VERSIONS),
                "capabilities": {"tools": {"listChanged": False}} if self.service.has_tools else {},
                "ttlMs": 0,
                "cacheScope": "public",
            }
        else:
            result = await self._call(method, params, modern=True)
        result["resultType"] = "complete"
        result["_meta"] = {SERVER_INFO_KEY: self._server_info()}
        return result

    async def _call(self, method: str, params: dict[str, Any], modern: bool) -> dict[str, Any]:
        env_cls = self.service.env_class
        if method.startswith("openenv/session/"):
            return await self._session_method(method, params)
        host = self.host
        if "session_id" in params and self.host is None:
            named = self.service.named.get(params["session_id"]) if self.service.config.named_sessions else None
            if named is None:
                raise ToolCallFailed("invalid_args", f"unknown session_id: {params['session_id']!r}")
            self.service.named.touch(named)
            host = named.host
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in MCP_HANDSHAKE_VERSIONS else MCP_HANDSHAKE_VERSIONS[0]
            return {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": self._server_info(),
            }
        if method == "ping":
            return {}
        if method in ("tools/list", "tools/call") and not self.service.has_tools:
            raise MethodNotFound(method)  # OE-MCP-015: no tools → -32601
        if method == "tools/list":
            listed: dict[str, Any] = {"tools": [spec.as_mcp() for spec in env_cls.tool_specs()]}
            if modern:
                listed.update(ttlMs=0, cacheScope="public")
            return listed
        if method == "tools/call":
            name = params.get("name")
            arguments = params.get("arguments", {})
            if not isinstance(name, str) or not isinstance(arguments, dict):
                raise ToolCallFailed("invalid_args", "tools/call needs params {name: string, arguments: object}")
            spec, kwargs = env_cls.find_tool(name, arguments)
            return await self._run_tool(host, spec.name, kwargs, modern)
        raise MethodNotFound(method)

    async def _session_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """`openenv/session/create|close` on `POST /mcp` (OE-MCP-030..032)."""
        service = self.service
        if not service.config.named_sessions or self.host is not None:
            raise MethodNotFound(method)
        if method == "openenv/session/create":
            slot = service.capacity.claim()
            try:
                host = service.open_host()
            except BaseException:
                slot.release()
                raise
            return {"session_id": service.named.add(host, slot).session_id}
        if method == "openenv/session/close":
            named = service.named.get(params.get("session_id"))
            if named is None:
                raise ToolCallFailed("invalid_args", f"unknown session_id: {params.get('session_id')!r}")
            if named.attached:
                raise ToolCallFailed("invalid_args", "the session has an attached connection; close that first")
            await service.named.close(named)
            return {"closed": True}
        raise MethodNotFound(method)

    async def _run_tool(self, host: EnvHost | None, name: str, kwargs: dict[str, Any], modern: bool) -> dict[str, Any]:
        slot = None
        if host is None:  # `POST /mcp` without a session: a fresh instance, holding a slot meanwhile
            slot = self.service.capacity.claim()
            try:
                host = self.service.open_host()
            except BaseException:
                slot.release()
                raise
        try:
            value = await host.invoke(name, **kwargs)
            result = tool_result(value)
            is_error = False
        except ToolCallFailed:  # the tool refused its arguments (a wrapped server's -32602): -32602
            raise
        except Exception as exc:  # a failing tool is a result with isError, per MCP
            wire = to_wire(exc, "tools/call")  # the one mapping: EnvironmentFault text, else the class name
            text = wire.message if isinstance(exc, EnvironmentFault) else f"{name} failed ({type(exc).__name__})"
            result = {"content": [{"type": "text", "text": text}], "data": None}
            is_error = True
        finally:
            if slot is not None:
                await host.close()
                slot.release()
        reply: dict[str, Any] = {"content": result["content"], "isError": is_error}
        structured = result.get("structured_content")
        if structured is not None:
            reply["structuredContent"] = structured
        if modern:  # no 0.10 client speaks 2026-07-28: the revision's keys only
            return reply
        if structured is not None:
            reply["structured_content"] = structured
        reply["is_error"] = is_error
        reply["data"] = result.get("data")
        return reply
