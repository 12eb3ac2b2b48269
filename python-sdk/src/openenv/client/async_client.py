"""`EnvClient`: the async client of one OpenEnv session.

Hand-twinned with `sync_client.SyncEnvClient` (same method names, no `await`); both only move frames,
everything else lives in `_base` and `openenv.protocol.client`. The transport is
`transports.async_websocket` (websockets' handshake, then our own framing straight from the
protocol callback); a request's timeout is a deadline on the loop clock checked by one lazily
re-armed timer per connection, so a step costs no timer of its own. The client opens its session on
`connect()` (or the first call) and never opens another behind the caller's back: a dropped connection
raises `SessionLostError`, and only an explicit `connect()` starts a new session.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar, overload

from websockets.exceptions import ConnectionClosed

from openenv.client._base import ClientBase, action_payload, reset_data, rpc_request, rpc_result, tool_value
from openenv.errors import (
    ClientClosedError,
    RemoteError,
    RemoteProtocolError,
    RequestTimeoutError,
    SessionLostError,
)
from openenv.protocol.client import ClientSession, Outcome
from openenv.transports.async_websocket import AsyncWebSocket
from openenv.transports.ws_errors import handshake_error, session_errors
from openenv.types import CallToolAction, ListToolsAction, StepResult

ObsT = TypeVar("ObsT")
ClientT = TypeVar("ClientT", bound="EnvClient[Any]")


class EnvClient(ClientBase[ObsT]):
    """Async client of one environment session.

    Subclass it and set `observation_type` (and `state_type`) for typed results, or use
    `GenericEnvClient` for plain dicts.
    """

    _ws: AsyncWebSocket | None

    def _make_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    # -- construction helpers ---------------------------------------------------------------------
    @overload
    @classmethod
    def with_provider(cls: type[ClientT], provider: Any, *, replicas: None = None, **options: Any) -> ClientT: ...

    @overload
    @classmethod
    def with_provider(cls: type[ClientT], provider: Any, *, replicas: int, **options: Any) -> list[ClientT]: ...

    @classmethod
    def with_provider(cls: type[ClientT], provider: Any, *, replicas: int | None = None, **options: Any) -> Any:
        """A client whose server `provider` starts on connect and stops on close.

        With `replicas=N`, N such clients, each with its own server (N parallel rollouts).
        """
        if replicas is not None:
            return cls.replicas(provider, replicas, **options)
        return cls(provider=provider, **options)

    @classmethod
    def replicas(cls: type[ClientT], provider: Any, count: int, **options: Any) -> list[ClientT]:
        """`count` clients, each with its own server from `provider` (N parallel rollouts)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        return [cls(provider=provider, **options) for _ in range(count)]

    def sync(self) -> Any:
        """The sync twin of this client, with the same settings (a new, separate session)."""
        from openenv.client.sync_client import SyncEnvClient

        twin: SyncEnvClient[ObsT] = SyncEnvClient(
            None if self.provider else self.settings.base_url,
            provider=self.provider,
            **self._options,
        )
        twin._parser = self._parser
        return twin

    # -- session properties -----------------------------------------------------------------------

    # -- lifecycle ----------------------------------------------------------------------------------
    async def connect(self: ClientT) -> ClientT:
        """Open a new session (closing the current one, if any)."""
        if self._ws is not None:
            await self._disconnect()
        self._closed = False
        self._lost = None
        if self.provider is not None and self._server is None:
            self._use_server(await asyncio.to_thread(self.provider.start))
        settings = self.settings
        try:
            ws = await AsyncWebSocket.connect(
                settings.ws_url,
                subprotocols=settings.subprotocols,
                headers=settings.headers,
                open_timeout=settings.connect_timeout_s,
                max_size=settings.max_message_bytes,
            )
        except Exception as exc:
            raise handshake_error(exc, settings.ws_url) from None
        try:
            core = self._session_for(ws.subprotocol)
            if core.awaiting_hello:
                with session_errors():
                    core.receive(await ws.recv(ws.loop.time() + settings.connect_timeout_s))
        except TimeoutError:
            await ws.close()
            raise RemoteProtocolError("no v1 'session' frame after the handshake") from None
        except BaseException:
            await ws.close()
            raise
        self._ws, self._core = ws, core
        return self

    async def close(self) -> None:
        """End the session (sends `close`) and stop the provider's server, if any."""
        self._closed = True
        self._lost = None
        await self._disconnect()
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    async def _disconnect(self) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            ws.send(ClientSession.close_frame().encode())
        await ws.close()

    async def __aenter__(self: ClientT) -> ClientT:
        return await self.connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests -----------------------------------------------------------------------------------
    async def _request(self, kind: str, data: dict[str, Any] | None = None) -> Outcome:
        async with self._lock:
            if self._lost is not None:
                raise self._lost
            if self._ws is None:
                if self._closed:
                    raise ClientClosedError("the client is closed; call connect() to open a new session")
                await self.connect()
            ws, core = self._ws, self._core
            assert ws is not None and core is not None
            error: Exception
            deadline = ws.loop.time() + self.settings.timeout_s
            try:
                with session_errors():
                    ws.send(core.request_bytes(kind, data))
                    if ws.writing_paused:
                        await ws.drained(deadline)
                    while True:
                        outcome = core.receive(await ws.recv(deadline))
                        if outcome is not None:
                            return outcome
            except TimeoutError:
                error = RequestTimeoutError(f"no reply to '{kind}' within {self.settings.timeout_s:g} s")
            except (SessionLostError, RemoteProtocolError) as exc:
                error = await self._last_words(ws, core) or exc
            await self._abandon(error)
            raise error

    @staticmethod
    async def _last_words(ws: AsyncWebSocket, core: ClientSession) -> Exception | None:
        """The error frame a server sent before closing (e.g. CAPACITY_REACHED after the upgrade)."""
        deadline = ws.loop.time() + 0.05
        try:
            while True:
                core.receive(await ws.recv(deadline))
        except RemoteError as exc:
            return exc
        except Exception:
            return None

    async def _abandon(self, error: Exception) -> None:
        """Drop a connection left unusable by `error`; later calls raise `SessionLostError`."""
        ws, self._ws = self._ws, None
        self._mark_lost(error)
        if ws is not None:
            await ws.close()

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> StepResult[ObsT]:
        """Start an episode."""
        return self._step_result(await self._request("reset", reset_data(seed, episode_id, kwargs)))

    async def step(self, action: Any) -> StepResult[ObsT]:
        """Apply one action (a pydantic model or a dict)."""
        return self._step_result(await self._request("step", action_payload(action)))

    async def state(self) -> Any:
        """The episode state (`State`, or `state_type`)."""
        return self._parser.state(await self._request("state"))

    async def mcp(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one JSON-RPC request in an `mcp` frame; returns its `result` (raises on `error`)."""
        return rpc_result(method, (await self._request("mcp", rpc_request(method, params))).data)

    async def list_tools(self) -> list[dict[str, Any]]:
        """The environment's MCP tools (`name`, `description`, `inputSchema`)."""
        tools = (await self.mcp("tools/list")).get("tools", [])
        return tools if isinstance(tools, list) else []

    async def call_tool(self, name: str, **arguments: Any) -> Any:
        """Call an MCP tool out of band (not an episode step); returns its structured result."""
        return tool_value(name, await self.mcp("tools/call", {"name": name, "arguments": arguments}))

    async def step_tool(self, name: str, **arguments: Any) -> StepResult[ObsT]:
        """Call an MCP tool as an episode step (`CallToolAction`)."""
        return await self.step(CallToolAction(tool_name=name, arguments=arguments))

    async def step_list_tools(self) -> StepResult[ObsT]:
        """List tools as an episode step (`ListToolsAction`)."""
        return await self.step(ListToolsAction())


class GenericEnvClient(EnvClient[dict[str, Any]]):
    """A client for any environment: dict actions in, dict observations out."""


__all__ = ["EnvClient", "GenericEnvClient"]
