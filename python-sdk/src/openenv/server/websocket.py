"""`/ws` sessions: one WebSocket connection = one session = one environment instance.

`SessionHandler` is a session's logic, whatever moves its frames: it opens the session (claims or
creates the environment, says hello), answers each inbound frame through the sans-I/O
`ServerSession` and the session's `EnvHost`, and finishes it. It enforces the size and step limits;
a failure in one session never reaches another (every exception is caught here or in
`faults.to_wire`). Two drivers move the frames: `SessionRunner` over any ASGI server, and
`uvicorn_ws.OpenEnvWebSocketProtocol` straight from the socket under the bundled runner.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from openenv.protocol import ErrorCode, Mode
from openenv.protocol.server import Close, Output, Request, Send, ServerSession
from openenv.server.asgi import Receive, Scope, SendFn
from openenv.server.capacity import Slot
from openenv.server.faults import StepTimedOut, to_wire
from openenv.server.host import EnvHost, wire_observation_json
from openenv.server.mcp.environment import run_tool_action
from openenv.server.mcp.jsonrpc import McpDispatcher
from openenv.server.registry import NamedSession
from openenv.server.service import EnvService
from openenv.server.watchdog import FINISHED, INFINITY, is_finished

log = logging.getLogger("openenv.server")


def offered_subprotocols(scope: Scope) -> list[str]:
    """The subprotocols the client offered, in order."""
    offered = scope.get("subprotocols") or []
    return [str(p) for p in offered]


class SessionHandler:
    """The logic of one session: `open()`, then per inbound message `receive()` (and `perform()`
    for the `Request` it returns; `handle()` does both), then `finish()`.

    Every method returns the outputs to write, in order. When they end with a `Close`, the session
    is over: `closed` is set and the session's capacity `slot` (None for a named-session attach,
    whose slot the named session holds) is released before the caller writes them (OE-LIM-014);
    the caller sends nothing after that close (OE-WS-031).
    """

    __slots__ = (
        "attach_to",
        "closed",
        "host",
        "max_bytes",
        "mcp",
        "named",
        "service",
        "session",
        "slot",
        "subprotocol",
        "validate",
    )

    def __init__(
        self,
        service: EnvService,
        subprotocols: list[str],
        query_string: bytes = b"",
        *,
        slot: Slot | None = None,
    ) -> None:
        self.service = service
        self.slot = slot
        config = service.config
        self.subprotocol = ServerSession.select_subprotocol(subprotocols, v1_enabled=config.v1)
        self.validate = service.validate_action if self.subprotocol else service.validate_base_action
        self.session = ServerSession(
            mode=Mode.V1 if self.subprotocol else Mode.BASE,
            session_id=str(uuid.uuid4()),
            limits=config.limits(),
        )
        self.host: EnvHost | None = None
        self.mcp: McpDispatcher | None = None
        self.named: NamedSession | None = None
        query = parse_qs(query_string.decode("latin-1")) if query_string else {}
        self.attach_to: str | None = query["session_id"][0] if "session_id" in query else None
        self.max_bytes = config.max_message_bytes
        self.closed = False

    @property
    def session_id(self) -> str:
        return self.session.session_id

    def open(self) -> list[Output]:
        """Bind the environment (a named one, or a new instance) and greet the client."""
        session = self.session
        if self.attach_to is not None:
            refusal = self._claim_named()
            if refusal is not None:
                return self._ending(session.failure(None, ErrorCode.SESSION_ERROR, refusal, fatal=True))
        if self.host is None:
            try:
                self.host = self.service.open_host()
            except Exception as exc:
                wire = to_wire(exc, "factory", factory_name=self.service.env_class.__name__)
                return self._ending(session.failure(None, wire.code, wire.message, wire.details, fatal=True))
        session.ledger = self.host.ledger
        self.mcp = McpDispatcher(self.host, self.service)
        return session.hello()

    def _claim_named(self) -> str | None:
        """Bind this connection to the named session `attach_to` (OE-WS-029); the refusal, if any."""
        registry = self.service.named
        named = registry.get(self.attach_to) if self.service.config.named_sessions else None
        if named is None:
            return "cannot attach: unknown session_id"
        if named.attached:
            return "cannot attach: the session already has a connection"
        registry.attach(named)
        self.named, self.host = named, named.host
        self.session.session_id = named.session_id
        return None

    def receive(self, raw: str | bytes, *, binary: bool = False) -> Request | list[Output]:
        """Take one inbound message (text as `str`, binary as `bytes`): a `Request` to `perform()`,
        or the outputs that answer it right away (a frame error, an oversized message)."""
        if self.closed:
            return []
        size = len(raw)
        if binary or size * 4 > self.max_bytes:
            if not binary:
                size = len(raw.encode()) if isinstance(raw, str) else size
            if size > self.max_bytes:
                return self.too_large(size)
        outcome = self.session.receive(raw, binary=binary)
        return self._ending(outcome) if isinstance(outcome, list) else outcome

    async def handle(self, raw: str | bytes, *, binary: bool = False) -> list[Output]:
        """`receive()` and, for a request, `perform()`."""
        outcome = self.receive(raw, binary=binary)
        if isinstance(outcome, list):
            return outcome
        return await self.perform(outcome)

    def too_large(self, size: int) -> list[Output]:
        """The outputs that refuse a message of `size` bytes over `max_message_bytes` (OE-LIM-005/006)."""
        return self._ending(
            self.session.closing(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"frame of {size} bytes exceeds the limit of {self.max_bytes} bytes",
            )
        )

    def idle_close(self) -> list[Output]:
        """The outputs that end a session idle for `idle_timeout_s` (OE-LIM-009)."""
        timeout = self.service.config.idle_timeout_s
        return self._ending(
            self.session.closing(ErrorCode.IDLE_TIMEOUT, f"no frame received for {timeout:g} s; session closed")
        )

    def shutdown_close(self) -> list[Output]:
        """The outputs that end the session when the server shuts down (OE-WS-030)."""
        return self._ending([Close(1001, "server shutting down")])

    async def finish(self) -> None:
        """The connection is gone: release the slot, detach or close the environment. Idempotent."""
        self.closed = True
        if self.slot is not None:
            self.slot.release()
        named, self.named = self.named, None
        host, self.host = self.host, None
        if named is not None:
            self.service.named.detach(named)
        elif host is not None:
            await host.close()

    def _ending(self, outputs: list[Output]) -> list[Output]:
        if outputs and isinstance(outputs[-1], Close):
            self.closed = True
            if self.slot is not None:
                self.slot.release()  # the slot is free before the peer sees the close (OE-LIM-014)
        return outputs

    async def perform(self, request: Request) -> list[Output]:
        """Run a `Request` from `receive()` on the environment; the outputs that answer it."""
        host = self.host
        assert host is not None
        session = self.session
        kind = request.kind
        episode_id = None
        try:
            if kind == "step":
                action = self.validate(request.data)
                if self.service.is_mcp:
                    obs = await run_tool_action(host, action)
                else:
                    obs = await host.step(action)
            elif kind == "reset":
                data = request.data
                kwargs = host.reset_kwargs(data, strict=session.mode is Mode.V1)
                obs = await host.reset(kwargs)
                episode_id = data.get("episode_id") or str(uuid.uuid4())  # OE-GEN-005
            elif kind == "state":
                return session.state(request, await host.state())
            elif kind == "mcp":
                assert self.mcp is not None
                return session.mcp(request, await self.mcp.handle(request.data))
            else:  # close: a named session outlives its connection
                if self.named is None:
                    self.host = None
                    await host.close()
                return self._ending([Close(1000)])
        except StepTimedOut:
            host.close_later()
            self.host = None
            return self._ending(
                session.failure(
                    request,
                    ErrorCode.STEP_TIMEOUT,
                    f"{kind} exceeded the step timeout of {host.timeout:g} s; session closed",
                    fatal=True,
                )
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
            episode_id=episode_id,
        )


class SessionRunner:
    """Serves one accepted ASGI WebSocket connection until it closes (any ASGI server)."""

    def __init__(
        self,
        service: EnvService,
        scope: Scope,
        receive: Receive,
        send: SendFn,
        *,
        slot: Slot | None = None,
    ) -> None:
        self.service = service
        self.receive = receive
        self.send = send
        self.handler = SessionHandler(service, offered_subprotocols(scope), scope.get("query_string") or b"", slot=slot)
        self.idle_timeout = service.config.idle_timeout_s
        self.idle_deadline = 0.0
        self.idle_expired = False
        self.task: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        """Accept, serve frames, and always release the environment."""
        handler = self.handler
        try:
            outputs = handler.open()  # before the accept: a named attach adopts the session's id
            headers = [(b"x-openenv-session-id", handler.session_id.encode())]
            await self.send({"type": "websocket.accept", "subprotocol": handler.subprotocol, "headers": headers})
            await self._write(outputs)
            if not handler.closed:
                await self._serve()
        finally:
            if not is_finished(self.idle_deadline):  # still watched
                self.idle_deadline = FINISHED
                if self.task is not None:
                    self.service.watchdog.forget(self)
            await handler.finish()

    # -- Watched: the app's watchdog ends a session idle for too long ------------------------------
    def deadline(self) -> float:
        return self.idle_deadline

    def expire(self) -> None:
        self.idle_expired = True
        if self.task is not None:
            self.task.cancel()

    async def _serve(self) -> None:
        receive = self.receive
        handler = self.handler
        watchdog = self.service.watchdog
        watchdog.ensure_running()
        clock = asyncio.get_running_loop().time
        idle = self.idle_timeout
        self.task = task = asyncio.current_task()
        self.idle_deadline = clock() + idle
        watchdog.watch(self)
        while not handler.closed:
            self.idle_deadline = clock() + idle
            try:
                message = await receive()
            except asyncio.CancelledError:
                if not self.idle_expired or task is None:
                    raise
                task.uncancel()
                await self._write(handler.idle_close())
                return
            self.idle_deadline = INFINITY  # busy: a request is running (OE-LIM-009)
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            if text is None:
                outputs = await handler.handle(message.get("bytes") or b"", binary=True)
            else:
                outputs = await handler.handle(text)
            await self._write(outputs)

    async def _write(self, outputs: list[Output]) -> None:
        send = self.send
        try:
            for output in outputs:
                if isinstance(output, Send):
                    await send({"type": "websocket.send", "text": output.text})
                else:
                    await send({"type": "websocket.close", "code": output.code, "reason": output.reason})
        except OSError:  # the peer went away mid-write (uvicorn raises ClientDisconnected)
            self.handler.closed = True
