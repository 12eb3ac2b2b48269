"""`SyncEnvClient`: the sync twin of `EnvClient`, on a real blocking WebSocket transport.

Hand-twinned with `async_client.EnvClient`: the same method names and behaviour, without `await`,
built on `transports.sync_websocket` (sans-I/O `websockets` on a blocking socket: no event loop,
no helper thread). Notebook- and debugger-friendly, and cheaper per call than a client that hops to
a private event loop.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, TypeVar

from websockets.exceptions import ConnectionClosed

from openenv.client._base import ClientBase, action_payload, reset_data, tool_value
from openenv.errors import (
    ClientClosedError,
    RemoteError,
    RemoteProtocolError,
    RequestTimeoutError,
    SessionLostError,
)
from openenv.protocol.client import ClientSession, Outcome
from openenv.transports.sync_websocket import SyncWebSocket
from openenv.transports.ws_errors import handshake_error, session_errors
from openenv.types import CallToolAction, ListToolsAction, StepResult

ObsT = TypeVar("ObsT")
ClientT = TypeVar("ClientT", bound="SyncEnvClient[Any]")


class SyncEnvClient(ClientBase[ObsT]):
    """Sync client of one environment session (see `EnvClient`)."""

    _ws: SyncWebSocket | None

    def _make_lock(self) -> threading.Lock:
        return threading.Lock()

    @classmethod
    def with_provider(cls: type[ClientT], provider: Any, **options: Any) -> ClientT:
        """A client whose server is started by `provider` on connect and stopped on close."""
        return cls(provider=provider, **options)

    def connect(self: ClientT) -> ClientT:
        """Open a new session (closing the current one, if any)."""
        if self._ws is not None:
            self._disconnect()
        self._closed = False
        self._lost = None
        if self.provider is not None and self._server is None:
            self._use_server(self.provider.start())
        settings = self.settings
        try:
            ws = SyncWebSocket.connect(
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
                core.receive(ws.recv(timeout=settings.connect_timeout_s))
        except TimeoutError:
            ws.close()
            raise RemoteProtocolError("no v1 'session' frame after the handshake") from None
        except BaseException:
            ws.close()
            raise
        self._ws, self._core = ws, core
        return self

    def close(self) -> None:
        """End the session (sends `close`) and stop the provider's server, if any."""
        self._closed = True
        self._lost = None
        self._disconnect()
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _disconnect(self) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            ws.send(ClientSession.close_frame())
        ws.close()

    def __enter__(self: ClientT) -> ClientT:
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, kind: str, data: dict[str, Any] | None = None) -> Outcome:
        with self._lock:
            if self._lost is not None:
                raise self._lost
            if self._ws is None:
                if self._closed:
                    raise ClientClosedError("the client is closed; call connect() to open a new session")
                self.connect()
            ws, core = self._ws, self._core
            assert ws is not None and core is not None
            error: Exception
            try:
                with session_errors():
                    ws.send(core.request(kind, data))
                    while True:
                        outcome = core.receive(ws.recv(timeout=self.settings.timeout_s))
                        if outcome is not None:
                            return outcome
            except TimeoutError:
                error = RequestTimeoutError(f"no reply to '{kind}' within {self.settings.timeout_s:g} s")
            except (SessionLostError, RemoteProtocolError) as exc:
                error = self._last_words(ws, core) or exc
            self._abandon(error)
            raise error

    @staticmethod
    def _last_words(ws: SyncWebSocket, core: ClientSession) -> Exception | None:
        """The error frame a server sent before closing (e.g. CAPACITY_REACHED after the upgrade)."""
        try:
            while True:
                core.receive(ws.recv(timeout=0.05))
        except RemoteError as exc:
            return exc
        except Exception:
            return None

    def _abandon(self, error: Exception) -> None:
        ws, self._ws = self._ws, None
        self._mark_lost(error)
        if ws is not None:
            ws.close()

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> StepResult[ObsT]:
        """Start an episode."""
        return self._step_result(self._request("reset", reset_data(seed, episode_id, kwargs)))

    def step(self, action: Any) -> StepResult[ObsT]:
        """Apply one action (a pydantic model or a dict)."""
        return self._step_result(self._request("step", action_payload(action)))

    def state(self) -> Any:
        """The episode state (`State`, or `state_type`)."""
        return self._parser.state(self._request("state"))

    def mcp(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one JSON-RPC request in an `mcp` frame; returns its `result` (raises on `error`)."""
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
        reply = self._request("mcp", request).data
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise RemoteProtocolError(f"MCP {method} failed: {error.get('code')} {error.get('message')}")
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    def list_tools(self) -> list[dict[str, Any]]:
        """The environment's MCP tools (`name`, `description`, `inputSchema`)."""
        tools = self.mcp("tools/list").get("tools", [])
        return tools if isinstance(tools, list) else []

    def call_tool(self, name: str, **arguments: Any) -> Any:
        """Call an MCP tool out of band (not an episode step); returns its structured result."""
        return tool_value(name, self.mcp("tools/call", {"name": name, "arguments": arguments}))

    def step_tool(self, name: str, **arguments: Any) -> StepResult[ObsT]:
        """Call an MCP tool as an episode step (`CallToolAction`)."""
        return self.step(CallToolAction(tool_name=name, arguments=arguments))

    def step_list_tools(self) -> StepResult[ObsT]:
        """List tools as an episode step (`ListToolsAction`)."""
        return self.step(ListToolsAction())


class GenericSyncEnvClient(SyncEnvClient[dict[str, Any]]):
    """The sync generic client: dict actions in, dict observations out."""
