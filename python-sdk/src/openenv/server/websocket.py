"""The `/ws` endpoint: one ASGI WebSocket connection = one session = one environment instance.

This module moves frames between ASGI and the sans-I/O `ServerSession`, and runs the requests the
session hands back on the session's `EnvHost`. It enforces the size, idle and step limits; a failure
in one session never reaches another (every exception is caught here or in `faults.to_wire`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from openenv.protocol import ErrorCode, Mode
from openenv.protocol.server import Close, Output, Request, Send, ServerSession
from openenv.server.faults import to_wire
from openenv.server.host import EnvHost, StepTimedOut, wire_observation_json
from openenv.server.mcp import McpDispatcher, run_tool_action
from openenv.server.registry import NamedSession

if TYPE_CHECKING:
    from openenv.server.app import OpenEnvApp

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
SendFn = Callable[[Message], Awaitable[None]]

log = logging.getLogger("openenv.server")
INFINITY = float("inf")
FINISHED = float("nan")  # tells the watchdog to forget the session


def offered_subprotocols(scope: Scope) -> list[str]:
    """The subprotocols the client offered, in order."""
    offered = scope.get("subprotocols") or []
    return [str(p) for p in offered]


class SessionRunner:
    """Serves one accepted WebSocket connection until it closes."""

    def __init__(
        self,
        app: OpenEnvApp,
        scope: Scope,
        receive: Receive,
        send: SendFn,
        *,
        release: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.release = release
        self.receive = receive
        self.send = send
        config = app.config
        subprotocol = ServerSession.select_subprotocol(offered_subprotocols(scope), v1_enabled=config.v1)
        self.subprotocol = subprotocol
        self.session = ServerSession(
            mode=Mode.V1 if subprotocol else Mode.BASE,
            session_id=str(uuid.uuid4()),
            limits=config.limits(),
        )
        self.host: EnvHost | None = None
        self.mcp: McpDispatcher | None = None
        self.named: NamedSession | None = None
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        self.attach_to: str | None = query["session_id"][0] if "session_id" in query else None
        self.max_bytes = config.max_message_bytes
        self.idle_timeout = config.idle_timeout_s
        self.closed = False
        self.idle_deadline = 0.0
        self.idle_expired = False
        self.task: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        """Accept, serve frames, and always release the environment."""
        refusal = self._claim_named() if self.attach_to is not None else None
        headers = [(b"x-openenv-session-id", self.session.session_id.encode())]
        await self.send({"type": "websocket.accept", "subprotocol": self.subprotocol, "headers": headers})
        try:
            if refusal is not None:
                await self._write(self.session.failure(None, ErrorCode.SESSION_ERROR, refusal, fatal=True))
                return
            if self.host is None:
                try:
                    env = self.app.new_environment()
                except Exception as exc:
                    wire = to_wire(exc, "factory", factory_name=self.app.env_class.__name__)
                    await self._write(self.session.failure(None, wire.code, wire.message, wire.details, fatal=True))
                    return
                self.host = self.app.host(env)
            self.mcp = McpDispatcher(self.host, self.app)
            await self._write(self.session.hello())
            await self._serve()
        finally:
            if self.idle_deadline == self.idle_deadline:  # watched (not yet NaN)
                self.idle_deadline = FINISHED
                if self.task is not None:
                    self.app.watchdog.forget(self)
            self.release()
            if self.named is not None:
                self.app.named.detach(self.named)
            elif self.host is not None:
                await self.host.close()

    def _claim_named(self) -> str | None:
        """Bind this connection to the named session `attach_to` (OE-WS-029); the refusal, if any."""
        registry = self.app.named
        named = registry.get(self.attach_to) if self.app.config.named_sessions else None
        if named is None:
            return "cannot attach: unknown session_id"
        if named.attached:
            return "cannot attach: the session already has a connection"
        registry.attach(named)
        self.named, self.host = named, named.host
        self.session.session_id = named.session_id
        return None

    # -- Watched: the app's watchdog ends a session idle for too long ------------------------------
    def deadline(self) -> float:
        return self.idle_deadline

    def expire(self) -> None:
        self.idle_expired = True
        if self.task is not None:
            self.task.cancel()

    async def _serve(self) -> None:
        receive = self.receive
        watchdog = self.app.watchdog
        watchdog.ensure_running()
        clock = asyncio.get_running_loop().time
        idle = self.idle_timeout
        self.task = task = asyncio.current_task()
        self.idle_deadline = clock() + idle
        watchdog.watch(self)
        while not self.closed:
            self.idle_deadline = clock() + idle
            try:
                message = await receive()
            except asyncio.CancelledError:
                if not self.idle_expired or task is None:
                    raise
                task.uncancel()
                await self._write(
                    self.session.closing(
                        ErrorCode.IDLE_TIMEOUT,
                        f"no frame received for {self.idle_timeout:g} s; session closed",
                    )
                )
                return
            self.idle_deadline = INFINITY  # busy: a request is running (OE-LIM-009)
            kind = message["type"]
            if kind == "websocket.disconnect":
                self.closed = True
                return
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            if text is None:
                raw: str | bytes = message.get("bytes") or b""
                if len(raw) > self.max_bytes:
                    await self._too_large(len(raw))
                    return
                outcome = self.session.receive(raw, binary=True)
            else:
                if len(text) * 4 > self.max_bytes and len(text.encode()) > self.max_bytes:
                    await self._too_large(len(text.encode()))
                    return
                outcome = self.session.receive(text)
            if isinstance(outcome, list):
                await self._write(outcome)
                continue
            await self._write(await self._perform(outcome))

    async def _too_large(self, size: int) -> None:
        await self._write(
            self.session.closing(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"frame of {size} bytes exceeds the limit of {self.max_bytes} bytes",
            )
        )

    async def _perform(self, request: Request) -> list[Output]:
        host = self.host
        assert host is not None
        session = self.session
        kind = request.kind
        try:
            if kind == "step":
                action = self.app.validate_action(request.data)
                if self.app.is_mcp:
                    obs = await run_tool_action(host, action)
                else:
                    obs = await host.step(action)
            elif kind == "reset":
                kwargs = host.reset_kwargs(request.data, strict=session.mode is Mode.V1)
                obs = await host.reset(kwargs)
            elif kind == "state":
                return session.state(request, await host.state())
            elif kind == "mcp":
                assert self.mcp is not None
                return session.mcp(request, await self.mcp.handle(request.data))
            else:  # close: a named session outlives its connection
                if self.named is None:
                    await host.close()
                return [Close(1000)]
        except StepTimedOut:
            host.close_later()
            self.host = None
            return session.failure(
                request,
                ErrorCode.STEP_TIMEOUT,
                f"{kind} exceeded the step timeout of {host.timeout:g} s; session closed",
                fatal=True,
            )
        except Exception as exc:
            prefix: list[str | int] = ["data"] if session.mode is Mode.V1 else []
            wire = to_wire(exc, kind, loc_prefix=prefix)
            return session.failure(request, wire.code, wire.message, wire.details)
        terminated, truncated = obs.episode_flags
        return session.observation(
            request,
            observation=wire_observation_json(obs),
            reward=obs.reward,
            terminated=terminated,
            truncated=truncated,
            metadata=obs.metadata,
        )

    async def _write(self, outputs: list[Output]) -> None:
        send = self.send
        try:
            for output in outputs:
                if isinstance(output, Send):
                    await send({"type": "websocket.send", "text": output.text})
                else:
                    self.closed = True
                    self.release()  # the slot is free before the peer sees the close (OE-LIM-014)
                    await send({"type": "websocket.close", "code": output.code, "reason": output.reason})
        except OSError:  # the peer went away mid-write (uvicorn raises ClientDisconnected)
            self.closed = True
