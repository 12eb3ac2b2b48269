"""0.10's MCP clients: `MCPToolClient` discovers and calls an environment's tools through steps.

`list_tools()` steps a `ListToolsAction` (cached unless `use_cache=False`); `call_tool(name, **args)`
steps a `CallToolAction` and returns the result's `data` (FastMCP results) or the raw result; a call
that failed (`error` in the observation) raises `RuntimeError("Tool 'NAME' failed: ...")`. 0.10's
"production mode" (JSON-RPC over `POST /mcp` with server-side sessions) is not ported: every call
goes through the step API, which both runtimes serve.
"""

from __future__ import annotations

from typing import Any

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

    async def list_tools(self, use_cache: bool = True) -> list[Tool]:
        """The environment's tools (cached after the first call unless `use_cache=False`)."""
        if use_cache and self._tools_cache is not None:
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
