"""`MCPServerEnvironment`: any MCP server as an OpenEnv environment, through the official `mcp` SDK.

A subclass names one server — a command spoken to over stdio (`StdioServer`) or a streamable-HTTP
endpoint (`HttpServer`) — usually made with `MCPServerEnvironment.for_server(spec)`. Contract:

* **one server connection per session**: the first `reset` (or step) takes a started server
  (stdio: a child process) with which a protocol revision was agreed, as the official client's
  `mode` says (`protocol`, default `"auto"`: probe `server/discover` for 2026-07-28, the stateless
  revision, and fall back to the `initialize` handshake on servers that do not answer it;
  `"legacy"`: `initialize` only; `"2026-07-28"`: that revision, no probe); `close()` — called once when the
  session ends, whatever the reason — shuts the connection down and, for stdio, ends the process.
  Each connection is owned by one task, so it is torn down where it was opened. So that a session
  does not wait for a process to start, `spares` (default 1) connections are kept started ahead
  of the sessions that will take them;
* **its tools are the actions**: `ListToolsAction` lists the server's tools (name, description,
  input schema), `CallToolAction` calls one. The result is `CallToolObservation.result` =
  `{content, structured_content, data, is_error}` (0.10's shape; `data` is the structured result,
  unwrapped from `{"result": x}`, else the text content);
* **errors are tool errors**, never protocol errors: an unknown tool → `tool_not_found`, a JSON-RPC
  `-32602` → `invalid_args`, a call over `call_timeout_s` → `timeout`, a result with `isError` →
  `execution_error` (with the result attached), a lost connection → `transport_error` (the next
  call reconnects). Starting the server is bounded by `start_timeout_s`; a server that cannot be
  started makes `reset` fail with `MCPServerStartError` naming the command and its stderr tail.

`probe_server(spec)` connects once, lists the tools and disconnects (what `openenv wrap-mcp` does
before serving, so a wrong command fails early with a one-line message). Given those tools,
`for_server(spec, tools=...)` also serves them as the runtime's JSON-RPC tools (`tools/list`,
`tools/call` on `mcp` frames and `POST /mcp`), so MCP clients reach the wrapped server through the
environment too; such a call runs on the session's connection (or a fresh one for a call without
a session) and is not an episode step.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, cast

import pydantic

from openenv.errors import OpenEnvError
from openenv.server import Environment, EnvironmentFault, tool
from openenv.server.faults import ToolCallFailed
from openenv.types import (
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Observation,
    State,
    Tool,
    ToolError,
)

__all__ = [
    "HttpServer",
    "MCPServerEnvironment",
    "MCPServerStartError",
    "ServerSpec",
    "StdioServer",
    "probe_server",
]

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
STDERR_TAIL_CHARS = 2000
MAX_TOOLS = 10_000


@dataclass(frozen=True, slots=True)
class StdioServer:
    """A server started as `command *args` and spoken to over its stdin/stdout."""

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    """Extra environment variables (merged over the SDK's safe defaults)."""
    cwd: str | None = None

    def describe(self) -> str:
        return " ".join([self.command, *self.args])


@dataclass(frozen=True, slots=True)
class HttpServer:
    """A server reached at a streamable-HTTP endpoint (e.g. `http://127.0.0.1:8000/mcp`)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return self.url


ServerSpec = StdioServer | HttpServer


class MCPServerStartError(OpenEnvError):
    """The MCP server could not be started or did not complete `initialize` in time."""


class _Connection:
    """One live MCP client session, opened and closed by its own owner task."""

    def __init__(self, spec: ServerSpec, start_timeout_s: float, call_timeout_s: float, protocol: str = "auto") -> None:
        self.spec = spec
        self.start_timeout_s = start_timeout_s
        self.call_timeout_s = call_timeout_s
        self.protocol = protocol
        self.session: Any = None
        self.server_info: dict[str, Any] = {}
        self.protocol_version: str | None = None
        self.tools: dict[str, Tool] = {}
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._errlog: IO[str] | None = None

    def stderr_tail(self) -> str:
        if self._errlog is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._errlog.seek(0)
            return self._errlog.read()[-STDERR_TAIL_CHARS:].strip()
        return ""

    async def open(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(self._own(ready), name=f"mcp-server {self.spec.describe()}")
        try:
            async with asyncio.timeout(self.start_timeout_s):
                await asyncio.shield(ready)
        except TimeoutError:
            note = self._tail_note()
            await self.close()
            raise MCPServerStartError(
                f"MCP server {self.spec.describe()!r} did not complete initialize within {self.start_timeout_s:g} s"
                + note
            ) from None
        except MCPServerStartError:
            await self.close()
            raise

    def _tail_note(self) -> str:
        tail = self.stderr_tail()
        return f"; its stderr ends with: {tail}" if tail else ""

    async def _own(self, ready: asyncio.Future[None]) -> None:
        from mcp.client.session import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(self.spec, StdioServer):
                    from mcp.client.stdio import StdioServerParameters, stdio_client

                    self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 — closed by close()
                    params = StdioServerParameters(
                        command=self.spec.command, args=list(self.spec.args), env=self.spec.env, cwd=self.spec.cwd
                    )
                    read, write = await stack.enter_async_context(stdio_client(params, errlog=self._errlog))
                else:
                    import httpx2
                    from mcp.client.streamable_http import streamable_http_client

                    client = await stack.enter_async_context(
                        httpx2.AsyncClient(headers=self.spec.headers, timeout=self.call_timeout_s, trust_env=False)
                    )
                    read, write = await stack.enter_async_context(
                        streamable_http_client(self.spec.url, http_client=client)
                    )
                session = await stack.enter_async_context(ClientSession(read, write))
                await _agree_revision(session, self.protocol)
                info = session.server_info
                self.server_info = info.model_dump(mode="json", exclude_none=True) if info is not None else {}
                self.protocol_version = session.protocol_version
                listed = await session.list_tools()
                self.tools = {t.name: _tool(t) for t in listed.tools[:MAX_TOOLS]}
                self.session = session
                ready.set_result(None)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(
                    MCPServerStartError(
                        f"MCP server {self.spec.describe()!r} failed to start: {_describe(exc)}{self._tail_note()}"
                    )
                )
        finally:
            self.session = None

    @property
    def alive(self) -> bool:
        return self.session is not None and self._owner is not None and not self._owner.done()

    async def close(self) -> None:
        self._stop.set()
        try:
            await self._end_owner()
        finally:
            if self._errlog is not None:
                self._errlog.close()

    async def _end_owner(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None and not owner.done():
            try:
                async with asyncio.timeout(self.start_timeout_s):
                    await asyncio.shield(owner)
            except TimeoutError:
                owner.cancel()
                with contextlib.suppress(BaseException):
                    await owner
            except BaseException:
                pass


_SPARES: dict[type, tuple[asyncio.AbstractEventLoop, list[asyncio.Task[_Connection]]]] = {}


class _Template(Environment[Any, Any, Any]):
    @tool
    async def template(self) -> None:
        """A tool spec to copy (the runtime's ToolSpec, reached through the public API)."""


def _serve_as_jsonrpc(cls: type[MCPServerEnvironment], tools: list[Tool]) -> None:
    """Give `cls` the runtime's class-level tools for `tools` (names that clash are left out)."""
    specs = _Template.tool_specs()
    if not specs or not dataclasses.is_dataclass(specs[0]):
        return  # the runtime's spec type changed shape: tools stay reachable through steps
    arguments = pydantic.create_model("mcp_tool_arguments", __config__=pydantic.ConfigDict(extra="allow"))
    by_name = {
        t.name: dataclasses.replace(
            specs[0], name=t.name, description=t.description, input_schema=t.input_schema, arguments=arguments
        )
        for t in tools
        if t.name.isidentifier() and not t.name.startswith("_") and not hasattr(MCPServerEnvironment, t.name)
    }
    base_find = cls.find_tool

    def tool_specs(owner: Any) -> list[Any]:
        return list(by_name.values())

    def find_tool(owner: Any, name: str, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        spec = by_name.get(name)
        return base_find(name, arguments) if spec is None else (spec, dict(arguments))

    def method(tool_name: str) -> Any:
        async def call(self: MCPServerEnvironment, **arguments: Any) -> Any:
            return await self._rpc_call(tool_name, arguments)

        call.__name__ = tool_name
        return call

    cls.tool_specs = classmethod(tool_specs)  # type: ignore[method-assign,assignment]
    cls.find_tool = classmethod(find_tool)  # type: ignore[method-assign,assignment]
    for name in by_name:
        setattr(cls, name, method(name))


async def _agree_revision(session: Any, protocol: str) -> None:
    """Agree a protocol revision with the server as the official client's `mode` does (`protocol`)."""
    from mcp.shared.exceptions import MCPError

    if protocol == "legacy":
        await session.initialize()
    elif protocol == "auto":
        try:
            await session.discover()  # 2026-07-28: `server/discover`, then a per-request envelope
        except (MCPError, RuntimeError, pydantic.ValidationError):
            await session.initialize()  # a server of the handshake era (or no mutual 2026 revision)
    else:
        import mcp_types

        session.adopt(
            mcp_types.DiscoverResult(
                supported_versions=[protocol],
                capabilities=mcp_types.ServerCapabilities(),
                result_type="complete",
                ttl_ms=0,
                cache_scope="public",
            )
        )


async def _opened(connection: _Connection) -> _Connection:
    await connection.open()
    return connection


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _tool(tool: Any) -> Tool:
    return Tool(name=tool.name, description=tool.description or "", input_schema=dict(tool.input_schema or {}))


def _result(result: Any) -> dict[str, Any]:
    content = [block.model_dump(mode="json", exclude_none=True) for block in result.content]
    structured = result.structured_content
    if isinstance(structured, dict) and set(structured) == {"result"}:
        data: Any = structured["result"]
    elif structured is not None:
        data = structured
    else:
        data = "\n".join(block.get("text", "") for block in content if block.get("type") == "text")
    return {"content": content, "structured_content": structured, "data": data, "is_error": bool(result.is_error)}


def _failed(name: str, error_type: str, message: str, result: Any = None) -> CallToolObservation:
    return CallToolObservation(tool_name=name, result=result, error=ToolError(error_type=error_type, message=message))


class MCPServerEnvironment(Environment[Any, Observation, State]):
    """An MCP server's tools as an environment's actions (see the module docstring)."""

    server: ClassVar[ServerSpec | None] = None
    """The server this class wraps (set by `for_server` or a subclass)."""
    start_timeout_s: ClassVar[float] = 30.0
    call_timeout_s: ClassVar[float] = 60.0
    protocol: ClassVar[str] = "auto"
    """How the revision is agreed: `"auto"`, `"legacy"` or a 2026 revision (the SDK client's `mode`)."""
    action_type = cast(Any, CallToolAction | ListToolsAction)
    observation_type = CallToolObservation
    reset_observation_type = Observation

    spares: ClassVar[int] = 1
    """Connections kept started ahead of the sessions that will take them (0 = start on demand)."""

    def __init__(self) -> None:
        if self.server is None:
            raise TypeError(f"{type(self).__name__} names no server: use MCPServerEnvironment.for_server(spec)")
        self._connection: _Connection | None = None

    @classmethod
    def _spare_pool(cls) -> list[asyncio.Task[_Connection]]:
        loop = asyncio.get_running_loop()
        pool = _SPARES.get(cls)
        if pool is None or pool[0] is not loop:
            pool = _SPARES[cls] = (loop, [])
        return pool[1]

    @classmethod
    def _refill(cls) -> None:
        pool = cls._spare_pool()
        while len(pool) < max(0, cls.spares):
            assert cls.server is not None
            connection = _Connection(cls.server, cls.start_timeout_s, cls.call_timeout_s, cls.protocol)
            pool.append(asyncio.create_task(_opened(connection), name="mcp-server spare"))

    @classmethod
    async def _take(cls) -> _Connection:
        pool = cls._spare_pool()
        while pool:
            task = pool.pop(0)
            try:
                connection = await task
            except MCPServerStartError:
                continue  # a spare that failed: try the next, then start one here
            if connection.alive:
                cls._refill()
                return connection
            await connection.close()
        assert cls.server is not None
        connection = _Connection(cls.server, cls.start_timeout_s, cls.call_timeout_s, cls.protocol)
        await connection.open()
        cls._refill()
        return connection

    @classmethod
    def for_server(
        cls, server: ServerSpec, *, name: str | None = None, tools: Sequence[Tool] | None = None
    ) -> type[MCPServerEnvironment]:
        """A subclass wrapping `server` (its name defaults to the command's or URL's); with `tools`
        (from `probe_server`) they are also served as JSON-RPC tools."""
        label = name or _default_name(server)
        doc = f"The tools of the MCP server `{server.describe()}` as an OpenEnv environment."
        made = type(label, (cls,), {"server": server, "__doc__": doc, "__module__": cls.__module__})
        if tools:
            _serve_as_jsonrpc(made, list(tools))
        return made

    async def _rpc_call(self, name: str, arguments: dict[str, Any]) -> Any:
        """One JSON-RPC `tools/call`: the result's `data`. The wrapped server's errors pass through:
        bad arguments or an unknown tool are `-32602` (`ToolCallFailed`); any other failure is an
        `isError` result carrying the server's own text (`EnvironmentFault`)."""
        observation = await self._call(await self._connected(), name, arguments)
        if observation.error is not None:
            if observation.error.error_type in ("invalid_args", "tool_not_found"):
                raise ToolCallFailed(observation.error.error_type, observation.error.message)
            raise EnvironmentFault(observation.error.message)
        return observation.result["data"] if isinstance(observation.result, dict) else observation.result

    async def _connected(self) -> _Connection:
        connection = self._connection
        if connection is not None and connection.alive:
            return connection
        if connection is not None:  # lost: reconnect
            await connection.close()
        connection = await type(self)._take()
        self._connection = connection
        return connection

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        connection = await self._connected()
        metadata = {"server": connection.server_info, "tools": sorted(connection.tools)}
        return Observation(metadata={**metadata, "protocol_version": connection.protocol_version})

    async def step(self, action: Any) -> Observation:
        connection = await self._connected()
        if isinstance(action, ListToolsAction):
            return ListToolsObservation(tools=list(connection.tools.values()))
        assert isinstance(action, CallToolAction)
        return await self._call(connection, action.tool_name, action.arguments)

    async def _call(self, connection: _Connection, name: str, arguments: dict[str, Any]) -> CallToolObservation:
        from mcp.shared.exceptions import MCPError

        if name not in connection.tools:
            return _failed(name, "tool_not_found", f"Unknown tool: {name!r}")
        try:
            async with asyncio.timeout(self.call_timeout_s):
                result = await connection.session.call_tool(name, arguments)
        except TimeoutError:
            await connection.close()  # a late reply must not be taken for the next call's
            return _failed(name, "timeout", f"Tool {name!r} timed out after {self.call_timeout_s:g} s")
        except MCPError as exc:
            kind = (
                "invalid_args"
                if exc.code == INVALID_PARAMS
                else "tool_not_found"
                if exc.code == METHOD_NOT_FOUND
                else "execution_error"
            )
            return _failed(name, kind, exc.message)
        except (pydantic.ValidationError, ValueError) as exc:
            return _failed(name, "execution_error", f"the server's reply was not a valid tool result: {exc}")
        except Exception as exc:  # the connection went away
            await connection.close()
            return _failed(name, "transport_error", f"the MCP server connection failed: {_describe(exc)}")
        body = _result(result)
        if result.is_error:
            text = "; ".join(b.get("text", "") for b in body["content"] if b.get("type") == "text") or "tool failed"
            return _failed(name, "execution_error", text, body)
        return CallToolObservation(tool_name=name, result=body)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def _default_name(server: ServerSpec) -> str:
    if isinstance(server, StdioServer):
        base = os.path.basename(server.command)
        if base.startswith("python") and len(server.args) >= 2 and server.args[0] == "-m":
            base = server.args[1]
    else:
        base = server.url.rstrip("/").rsplit("/", 1)[-1] or "mcp"
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in base).strip("_") or "mcp_server"
    return cleaned if not cleaned[0].isdigit() else f"mcp_{cleaned}"


async def probe_server(
    server: ServerSpec, *, start_timeout_s: float = 30.0, protocol: str = "auto"
) -> tuple[dict[str, Any], list[Tool]]:
    """Connect once: the server's `serverInfo` and tools (raises `MCPServerStartError`)."""
    connection = _Connection(server, start_timeout_s, start_timeout_s, protocol)
    await connection.open()
    try:
        return connection.server_info, list(connection.tools.values())
    finally:
        await connection.close()


def stdio_spec(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None) -> StdioServer:
    """`StdioServer` for a command line (`["uvx", "mcp-server-time"]`)."""
    if not argv or not argv[0]:
        raise ValueError("the MCP server command is empty")
    return StdioServer(argv[0], tuple(argv[1:]), env, cwd)
