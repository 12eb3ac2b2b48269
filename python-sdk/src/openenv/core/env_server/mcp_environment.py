"""0.10's `MCPEnvironment`: an environment whose tools live on a FastMCP server.

Contract (0.10's): `MCPEnvironment(mcp_server)` refuses tool names in `RESERVED_TOOL_NAMES`;
`step`/`step_async` route `ListToolsAction` to the server's tool list and `CallToolAction` to a tool
call (bounded by `timeout_s`, default 30 s), every other action to the subclass's `_step_impl`. A
failed call is a `CallToolObservation` with `error` (`tool_not_found`, `invalid_args`, `timeout`,
`execution_error`), never an exception. Extra tools can be registered with `self.tool(mode=...)`.
The server is reached in process through `fastmcp.Client` (imported when an instance is built, so
the module imports without fastmcp).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from abc import abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.mcp_types import (
    RESERVED_TOOL_NAMES,
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Tool,
    ToolError,
    ToolErrorType,
)
from openenv.core.env_server.types import Action, Observation

__all__ = ["MCP_TOOL_CALL_TIMEOUT", "MCPEnvironment", "get_server_tools", "run_async_safely"]

MCP_TOOL_CALL_TIMEOUT = 30.0
T = TypeVar("T")


def run_async_safely(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, whether or not this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def get_server_tools(mcp_server: Any) -> dict[str, Any]:
    """The tools of a FastMCP server (2.x `get_tools()` or 3.x `list_tools()`), by name."""
    if hasattr(mcp_server, "get_tools"):
        result = run_async_safely(mcp_server.get_tools())
        if isinstance(result, dict):
            return result
    if hasattr(mcp_server, "list_tools"):
        return {t.name: t for t in run_async_safely(mcp_server.list_tools())}
    return {}


def _tool_model(tool: Any) -> Tool:
    schema = getattr(tool, "inputSchema", None)
    if schema is None:
        schema = getattr(tool, "parameters", None) or {}
    return Tool(name=tool.name, description=tool.description or "", input_schema=schema)


def _in_process(server: Any) -> bool:
    """A FastMCP server object whose tools can be called directly (3.x `call_tool`)."""
    return type(server).__module__.startswith("fastmcp.") and callable(getattr(server, "call_tool", None))


def _client_result(result: Any) -> Any:
    """A server-side `ToolResult` as `fastmcp.Client.call_tool` returns it (`CallToolResult`)."""
    from fastmcp.client.client import CallToolResult

    structured = result.structured_content
    meta = result.meta
    wrapped = isinstance(meta, dict) and bool(meta.get("fastmcp", {}).get("wrap_result"))
    data = structured.get("result") if wrapped and isinstance(structured, dict) else structured
    return CallToolResult(content=result.content, structured_content=structured, meta=meta, data=data, is_error=False)


def _classify(message: str) -> ToolErrorType:
    lowered = message.lower()
    if "not found" in lowered or "unknown tool" in lowered:
        return ToolErrorType.TOOL_NOT_FOUND
    if "invalid" in lowered or "argument" in lowered:
        return ToolErrorType.INVALID_ARGS
    return ToolErrorType.EXECUTION_ERROR


class MCPEnvironment(Environment[Any, Any, Any]):
    """Base class of an environment whose steps may be MCP tool calls (see the module docstring)."""

    def __init__(self, mcp_server: Any, transform: Any | None = None) -> None:
        super().__init__(transform=transform)
        self._validate_tool_names(mcp_server)
        from fastmcp import Client  # the in-process client 0.10 uses

        self.mcp_server: Any = mcp_server
        self.mcp_client: Any = Client(mcp_server)
        self._held: tuple[asyncio.AbstractEventLoop, asyncio.Event, asyncio.Task[None]] | None = None
        self._mode_tools: dict[str, dict[str | None, Callable[..., Any]]] = defaultdict(dict)
        self._mode_tool_schemas: dict[str, dict[str | None, dict[str, Any]]] = defaultdict(dict)

    def _require_mcp_client(self) -> Any:
        if self.mcp_client is None:
            raise RuntimeError("MCP client is not available; environment is closed")
        return self.mcp_client

    def _require_mcp_server(self) -> Any:
        if self.mcp_server is None:
            raise RuntimeError("MCP server is not available; environment is closed")
        return self.mcp_server

    @asynccontextmanager
    async def mcp_session(self) -> AsyncIterator[Any]:
        """An open client session (re-entrant: nested uses share one transport).

        The first use on an event loop also opens one session held by a task of its own until
        `close()`, so later calls nest into it instead of connecting again.
        """
        client = self._require_mcp_client()
        await self._hold_session(client)
        async with client:
            yield client

    async def _hold_session(self, client: Any) -> None:
        loop = asyncio.get_running_loop()
        if self._held is not None and self._held[0] is loop and not self._held[2].done():
            return
        stop = asyncio.Event()
        ready: asyncio.Future[None] = loop.create_future()

        async def hold() -> None:
            try:
                async with client:
                    ready.set_result(None)
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        task = loop.create_task(hold(), name="mcp-session")
        self._held = (loop, stop, task)
        await ready

    def _release_session(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        loop, stop, _ = held
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        else:
            loop.call_soon_threadsafe(stop.set)

    @property
    def supports_code_mode(self) -> bool:
        return True

    def _get_server_tools(self, mcp_server: Any) -> dict[str, Any]:
        return get_server_tools(mcp_server)

    def get_callables(self) -> dict[str, Callable[..., Any]]:
        """Plain callables for the server's tools and the registered mode tools."""
        callables: dict[str, Callable[..., Any]] = {}
        for name, server_tool in self._get_server_tools(self._require_mcp_server()).items():
            fn = getattr(server_tool, "fn", None)
            if callable(fn):
                callables[name] = fn
        mode = getattr(self, "_mode", None)
        for name, by_mode in self._mode_tools.items():
            fn = by_mode.get(None) or by_mode.get(mode)
            if fn is not None:
                callables[name] = fn
        return callables

    def execute_code(self, code: str) -> Observation:
        """0.10's code mode: run `code` with the tools as plain functions; `result` is returned.

        This executes the code in the server process, exactly as 0.10 does — only for trusted
        agents (a sandboxed executor is `reference-servers/python_exec_env`).
        """
        namespace: dict[str, Any] = dict(self.get_callables())
        local: dict[str, Any] = {}
        try:
            exec(code, namespace, local)
        except SyntaxError as exc:
            return Observation(done=False, reward=0.0, metadata={"error": f"Syntax error: {exc}"})
        except Exception as exc:
            return Observation(done=False, reward=0.0, metadata={"error": str(exc)})
        return Observation(done=False, reward=0.0, metadata={"result": local.get("result")})

    def _validate_tool_names(self, mcp_server: Any) -> None:
        names = set(get_server_tools(mcp_server))
        conflicts = names & RESERVED_TOOL_NAMES
        if conflicts:
            raise ValueError(
                f"MCP tools cannot use reserved names: {sorted(conflicts)}. "
                f"Reserved names are: {sorted(RESERVED_TOOL_NAMES)}"
            )

    def tool(self, mode: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a local function as a tool, optionally only in one mode."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            name = func.__name__
            if name in RESERVED_TOOL_NAMES:
                raise ValueError(f"Tool name '{name}' is reserved. Reserved names are: {sorted(RESERVED_TOOL_NAMES)}")
            from pydantic import create_model

            fields: dict[str, Any] = {}
            for pname, param in inspect.signature(func).parameters.items():
                annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
                default = ... if param.default is inspect.Parameter.empty else param.default
                fields[pname] = (annotation, default)
            schema = create_model(f"{name}_args", **fields).model_json_schema()
            self._mode_tools[name][mode] = func
            self._mode_tool_schemas[name][mode] = {
                "name": name,
                "description": func.__doc__ or "",
                "input_schema": schema,
            }
            return func

        return decorator

    def step(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        """Route MCP actions to the server; everything else to `_step_impl`."""
        if isinstance(action, ListToolsAction):
            return self._handle_list_tools()
        if isinstance(action, CallToolAction):
            return self._handle_call_tool(action, timeout_s=timeout_s)
        return self._step_impl(action, timeout_s=timeout_s, **kwargs)

    def _handle_list_tools(self) -> ListToolsObservation:
        return run_async_safely(self._async_handle_list_tools())

    async def _async_list_tools(self) -> list[Any]:
        async with self.mcp_session() as client:
            tools: list[Any] = await client.list_tools()
            return tools

    def _handle_call_tool(self, action: CallToolAction, timeout_s: float | None = None) -> CallToolObservation:
        return run_async_safely(self._async_handle_call_tool(action, timeout_s=timeout_s))

    async def _async_call_tool(self, tool_name: str, arguments: dict[str, Any]) -> Any:
        server = self._require_mcp_server()
        if _in_process(server):  # same result and errors as through fastmcp.Client, without the transport
            return _client_result(await server.call_tool(tool_name, arguments))
        async with self.mcp_session() as client:
            return await client.call_tool(tool_name, arguments)

    async def _async_handle_list_tools(self) -> ListToolsObservation:
        try:
            mode = getattr(self, "_mode", None)
            tools = [_tool_model(t) for t in await self._async_list_tools() if t.name not in self._mode_tool_schemas]
            for schemas in self._mode_tool_schemas.values():
                schema = schemas.get(None) if None in schemas else schemas.get(mode)
                if schema is not None:
                    tools.append(Tool(**schema))
            return ListToolsObservation(tools=tools)
        except Exception as exc:
            return ListToolsObservation(tools=[], metadata={"error": str(exc), "error_type": "list_tools_failed"})

    async def _async_handle_call_tool(
        self, action: CallToolAction, timeout_s: float | None = None
    ) -> CallToolObservation:
        timeout = timeout_s if timeout_s is not None else MCP_TOOL_CALL_TIMEOUT
        name = action.tool_name
        if name in self._mode_tools:
            return await self._call_mode_tool(name, action.arguments)
        try:
            result = await asyncio.wait_for(self._async_call_tool(name, action.arguments), timeout=timeout)
        except TimeoutError:
            message = f"Tool '{name}' timed out after {timeout} seconds"
            return CallToolObservation(
                tool_name=name, error=ToolError(error_type=ToolErrorType.TIMEOUT, message=message)
            )
        except Exception as exc:
            message = str(exc)
            return CallToolObservation(tool_name=name, error=ToolError(error_type=_classify(message), message=message))
        return CallToolObservation(tool_name=name, result=result)

    async def _call_mode_tool(self, name: str, arguments: dict[str, Any]) -> CallToolObservation:
        by_mode = self._mode_tools[name]
        mode = getattr(self, "_mode", None)
        func = by_mode.get(None) if None in by_mode else by_mode.get(mode)
        if func is None:
            message = f"Tool '{name}' not available in {mode} mode"
            error = ToolError(error_type=ToolErrorType.TOOL_NOT_FOUND, message=message)
            return CallToolObservation(tool_name=name, error=error)
        try:
            value = func(**arguments)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            error = ToolError(error_type=ToolErrorType.EXECUTION_ERROR, message=str(exc))
            return CallToolObservation(tool_name=name, error=error)
        result = {
            "content": [{"type": "text", "text": str(value)}],
            "structured_content": {"result": value},
            "meta": None,
            "data": value,
            "is_error": False,
        }
        return CallToolObservation(tool_name=name, result=result)

    async def step_async(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        """Async `step`: MCP actions on the running loop, other actions in a worker thread."""
        if isinstance(action, ListToolsAction):
            return await self._async_handle_list_tools()
        if isinstance(action, CallToolAction):
            return await self._async_handle_call_tool(action, timeout_s=timeout_s)
        return await asyncio.to_thread(lambda: self._step_impl(action, timeout_s=timeout_s, **kwargs))

    @abstractmethod
    def _step_impl(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        """Handle a non-MCP action."""

    def close(self) -> None:
        self._release_session()
        self.mcp_client = None
        self.mcp_server = None
