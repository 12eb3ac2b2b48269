"""0.10's MCP clients: `MCPToolClient` discovers and calls an environment's tools.

As in 0.10 the mode is `production` (the only one it accepts): the client creates a server-side
session with JSON-RPC `openenv/session/create` on `POST /mcp`, attaches its WebSocket to it
(`/ws?session_id=`), so `reset`/`step`/`state` and the tools share one environment instance, and
calls `tools/list` / `tools/call` over `POST /mcp` (tool calls are not episode steps). `list_tools()`
is cached unless `use_cache=False` (and returns `[]` when listing fails, as 0.10 does);
`call_tool(name, **args)` returns the result's `data` and raises
`RuntimeError("Tool 'NAME' failed: ...")` on a JSON-RPC error. `close()` detaches the socket, then
closes the server-side session. Every HTTP call is bounded by `message_timeout_s`. Stepping a
`ListToolsAction` / `CallToolAction` yourself (`step()`) goes through the episode, as in 0.10.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ConfigDict

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.mcp_types import (
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Tool,
    ToolError,
)
from openenv.core.env_server.types import Observation, State

__all__ = ["GenericMCPObservation", "MCPClientBase", "MCPToolClient"]


class GenericMCPObservation(Observation):
    """An observation of a non-tool step (any extra fields kept)."""

    model_config = ConfigDict(extra="allow")


def _tool(payload: dict[str, Any]) -> Tool:
    return Tool(
        name=payload.get("name", ""),
        description=payload.get("description", ""),
        input_schema=payload.get("input_schema", payload.get("inputSchema", {})),
    )


class MCPClientBase(EnvClient[Any, Observation, State]):
    """Tool discovery over the step API."""

    def __init__(
        self,
        base_url: str,
        connect_timeout_s: float = 10.0,
        message_timeout_s: float = 60.0,
        websocket_ping_interval_s: float | None = 20.0,
        websocket_ping_timeout_s: float | None = 20.0,
        provider: Any | None = None,
        mode: str | None = None,
        max_message_size_mb: float = 100.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        mode = "production" if mode is None else mode
        if mode.lower() != "production":
            raise ValueError(
                f"MCPToolClient only supports 'production' mode, got '{mode}'. "
                "Use GenericEnvClient for simulation mode."
            )
        super().__init__(
            base_url=base_url,
            connect_timeout_s=connect_timeout_s,
            message_timeout_s=message_timeout_s,
            max_message_size_mb=max_message_size_mb,
            websocket_ping_interval_s=websocket_ping_interval_s,
            websocket_ping_timeout_s=websocket_ping_timeout_s,
            provider=provider,
            mode=mode,
            headers=headers,
        )
        self._tools_cache: list[Tool] | None = None
        self.use_production_mode = mode.lower() == "production"
        self._production_session_id: str | None = None
        self._jsonrpc_request_id = 0
        self._http_client: Any = None
        self._session_lock = asyncio.Lock()

    def _next_request_id(self) -> int:
        self._jsonrpc_request_id += 1
        return self._jsonrpc_request_id

    def _production_mcp_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("MCP client is not connected to a server.")
        base = self._base_url if "://" in self._base_url else "http://" + self._base_url
        parts = urlsplit(base)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/").removesuffix("/ws") + "/mcp"
        return urlunsplit(parts._replace(scheme=scheme, path=path, query="", fragment=""))

    async def _production_mcp_request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        if self._http_client is None:
            self._http_client = httpx.AsyncClient(headers=self._headers, trust_env=False)
        body = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": self._next_request_id()}
        response = await self._http_client.post(self._production_mcp_url(), json=body, timeout=self._message_timeout)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def _ensure_production_session(self) -> str:
        async with self._session_lock:
            if self._production_session_id is not None:
                return self._production_session_id
            data = await self._production_mcp_request("openenv/session/create")
            if "error" in data:
                raise RuntimeError(f"Failed to create MCP session: {data['error'].get('message', 'unknown error')}")
            session_id = data.get("result", {}).get("session_id")
            if not session_id:
                raise RuntimeError("Failed to create MCP session: missing session_id")
            self._production_session_id = session_id
            return str(session_id)

    async def _connect_async(self) -> EnvClient[Any, Observation, State]:
        if not self.use_production_mode:
            return await super()._connect_async()
        loop = asyncio.get_running_loop()
        if self._ws is not None and self._ws_loop is loop:
            return self
        try:
            session_id = await self._ensure_production_session()
            original = self._ws_url
            if original is None:
                raise RuntimeError("MCP client has no WebSocket URL.")
            parts = urlsplit(original)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            query["session_id"] = session_id
            self._ws_url = urlunsplit(parts._replace(query=urlencode(query)))
            try:
                await super()._connect_async()
            finally:
                self._ws_url = original
        except BaseException:
            await self._close_async()
            raise
        return self

    async def _close_async(self) -> None:
        try:
            await self._disconnect_async()
        finally:
            session_id, self._production_session_id = self._production_session_id, None
            if session_id is not None:
                with contextlib.suppress(Exception):  # best effort, as in 0.10
                    await self._production_mcp_request("openenv/session/close", {"session_id": session_id})
            client, self._http_client = self._http_client, None
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await super()._close_async()

    async def list_tools(self, use_cache: bool = True) -> list[Tool]:
        """The environment's tools (cached after the first call unless `use_cache=False`)."""
        if use_cache and self._tools_cache is not None:
            return self._tools_cache
        if self.use_production_mode:
            try:
                session_id = await self._ensure_production_session()
                data = await self._production_mcp_request("tools/list", {"session_id": session_id})
            except Exception:
                return []
            listed = data.get("result", {}).get("tools") if "error" not in data else None
            if not isinstance(listed, list):
                return []
            self._tools_cache = [_tool(t) for t in listed]
            return self._tools_cache
        result = await self._step_async(ListToolsAction())
        tools = result.observation.tools if isinstance(result.observation, ListToolsObservation) else []
        self._tools_cache = list(tools)
        return self._tools_cache

    def _step_payload(self, action: Any) -> dict[str, Any]:
        if isinstance(action, ListToolsAction):
            return {"type": "list_tools"}
        if isinstance(action, CallToolAction):
            return {"type": "call_tool", "tool_name": action.tool_name, "arguments": action.arguments}
        if hasattr(action, "model_dump"):
            dumped: dict[str, Any] = action.model_dump()
            return dumped
        return {"action": str(action)}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[Observation]:
        data = payload.get("observation", {})
        common: dict[str, Any] = {
            "done": payload.get("done", False),
            "reward": payload.get("reward"),
            "metadata": payload.get("metadata", data.get("metadata", {})),
        }
        observation: Observation
        if "tools" in data:
            observation = ListToolsObservation(tools=[_tool(t) for t in data.get("tools", [])], **common)
        elif "tool_name" in data:
            error = ToolError(**data["error"]) if data.get("error") else None
            observation = CallToolObservation(
                tool_name=data.get("tool_name", ""), result=data.get("result"), error=error, **common
            )
        else:
            extra = {k: v for k, v in data.items() if k not in {"done", "reward", "metadata"}}
            observation = GenericMCPObservation(**common, **extra)
        return StepResult(
            observation=observation,
            reward=payload.get("reward"),
            done=payload.get("done", False),
            metadata=payload.get("metadata"),
        )

    def _parse_state(self, payload: dict[str, Any]) -> State:
        return State(episode_id=payload.get("episode_id"), step_count=payload.get("step_count", 0))


class MCPToolClient(MCPClientBase):
    """Calls an environment's tools by name."""

    async def call_tool(self, name: str, **kwargs: Any) -> Any:
        """The tool's result (`data` when the result carries it); RuntimeError when it failed."""
        if self.use_production_mode:
            session_id = await self._ensure_production_session()
            data = await self._production_mcp_request(
                "tools/call", {"name": name, "arguments": kwargs, "session_id": session_id}
            )
            if "error" in data:
                raise RuntimeError(f"Tool '{name}' failed: {data['error'].get('message', 'unknown error')}")
            reply = data.get("result")
            return reply["data"] if isinstance(reply, dict) and "data" in reply else reply
        result = await self._step_async(CallToolAction(tool_name=name, arguments=kwargs))
        obs = result.observation
        if isinstance(obs, CallToolObservation) and obs.error is not None:
            raise RuntimeError(f"Tool '{name}' failed: {obs.error.message} (type: {obs.error.error_type.value})")
        if isinstance(obs, CallToolObservation):
            value = obs.result
            if hasattr(value, "data"):
                return value.data
            if isinstance(value, dict) and "data" in value:
                return value["data"]
            return value
        return obs

    async def get_tool(self, name: str) -> Tool | None:
        for tool in await self.list_tools():
            if tool.name == name:
                return tool
        return None

    async def has_tool(self, name: str) -> bool:
        return await self.get_tool(name) is not None
