"""JSON-RPC 2.0 / MCP handling for `mcp` frames on `/ws` and for `POST /mcp`.

Methods: `initialize`, `ping`, `tools/list`, `tools/call` (MCP), `notifications/*` (accepted, never
answered). A request without `id` is a notification and gets no response. `tools/call` results carry
the MCP keys (`content`, `structuredContent`, `isError`) and, for 0.10 clients, `structured_content`,
`is_error` and `data`. Tool calls through JSON-RPC do not count as episode steps.
"""

from __future__ import annotations

from typing import Any

from openenv.server.faults import CapacityExhausted, EnvironmentFault, ToolCallFailed, to_wire
from openenv.server.host import EnvHost
from openenv.server.service import EnvService
from openenv.server.tools import tool_result

MCP_PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)


SERVER_ERROR = -32000


def rpc_error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def rpc_result(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


class McpDispatcher:
    """Answers JSON-RPC requests against one environment instance."""

    def __init__(self, host: EnvHost | None, service: EnvService) -> None:
        self.host = host
        self.service = service

    async def handle(self, message: Any) -> dict[str, Any] | None:
        """The JSON-RPC response for `message`, or None when it is a notification."""
        if not isinstance(message, dict):
            return rpc_error(None, INVALID_REQUEST, "Invalid request: expected a JSON object")
        is_notification = "id" not in message
        request_id = message.get("id")
        if not is_notification and (isinstance(request_id, bool) or not isinstance(request_id, str | int | None)):
            return rpc_error(None, INVALID_REQUEST, "Invalid request: id must be a string or integer")
        method = message.get("method")
        params = message.get("params", {})
        problem = None
        if message.get("jsonrpc") != "2.0":
            problem = "jsonrpc must be '2.0'"
        elif not isinstance(method, str):
            problem = "method must be a string"
        elif not isinstance(params, dict):
            problem = "params must be an object"
        elif set(message) - {"jsonrpc", "id", "method", "params"}:
            problem = "unexpected members: " + ", ".join(sorted(set(message) - {"jsonrpc", "id", "method", "params"}))
        if problem is not None:
            return None if is_notification else rpc_error(request_id, INVALID_REQUEST, f"Invalid request: {problem}")
        assert isinstance(method, str)
        if is_notification:
            return None
        try:
            result = await self._call(method, params)
        except ToolCallFailed as failure:
            return rpc_error(request_id, INVALID_PARAMS, failure.message)
        except CapacityExhausted as full:
            error = rpc_error(request_id, SERVER_ERROR, "server at capacity")
            error["error"]["data"] = {"active_sessions": full.active, "max_sessions": full.maximum}
            return error
        except LookupError:
            return rpc_error(request_id, METHOD_NOT_FOUND, f"Method not found: {method}")
        return rpc_result(request_id, result)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
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
            version = asked if asked in MCP_PROTOCOL_VERSIONS else MCP_PROTOCOL_VERSIONS[0]
            return {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": self.service.config.name, "version": self.service.config.version},
            }
        if method == "ping":
            return {}
        if method in ("tools/list", "tools/call") and not self.service.has_tools:
            raise LookupError(method)  # OE-MCP-015: no tools → -32601
        if method == "tools/list":
            return {"tools": [spec.as_mcp() for spec in env_cls.tool_specs()]}
        if method == "tools/call":
            name = params.get("name")
            arguments = params.get("arguments", {})
            if not isinstance(name, str) or not isinstance(arguments, dict):
                raise ToolCallFailed("invalid_args", "tools/call needs params {name: string, arguments: object}")
            spec, kwargs = env_cls.find_tool(name, arguments)
            return await self._run_tool(host, spec.name, kwargs)
        raise LookupError(method)

    async def _session_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """`openenv/session/create|close` on `POST /mcp` (OE-MCP-030..032)."""
        service = self.service
        if not service.config.named_sessions or self.host is not None:
            raise LookupError(method)
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
        raise LookupError(method)

    async def _run_tool(self, host: EnvHost | None, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
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
            reply["structured_content"] = structured
        reply["is_error"] = is_error
        reply["data"] = result.get("data")
        return reply
