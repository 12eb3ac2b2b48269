"""0.10's `EnvClient`: a typed WebSocket client an environment package subclasses.

Contract (0.10's author-facing behaviour): subclasses implement `_step_payload(action) -> dict`,
`_parse_result(payload) -> StepResult` and `_parse_state(payload) -> State`. `reset(**kwargs)`,
`step(action)`, `state()` and `close()` work both ways, as in 0.10: awaited inside a running event
loop (`async with MyEnv(base_url=...) as env: await env.reset()`), or called plainly from sync code
(the client then runs its own event loop; `with MyEnv(base_url=...).sync() as env: env.reset()`).
Frames are 0.10's base level (no subprotocol offered), so the client talks to 0.10 servers and to
ours alike. An `error` frame raises `RuntimeError("Server error: MESSAGE (code: CODE)")`; a failed
connection raises `ConnectionError`; every wait is bounded by `connect_timeout_s` /
`message_timeout_s`; frames larger than `max_message_size_mb` are refused.

`MyEnv.from_docker_image(image, provider=None, **kwargs)` starts a server and returns a handle, as
in 0.10: `await` it for a connected client, or call `.sync()` for a connected `SyncEnvClient`;
nothing starts until then, and a handle resolves once. Closing the client stops the server. The
server comes from, in order: our `DockerProvider` when `provider` is None (`docker run --network
host` of `image`; `kwargs` may set `port`, `env_vars`, `ready_timeout_s` (default 60 s),
`run_timeout_s`, `docker`, `extra_args`; a missing client or an unreachable engine is a
`ConnectError` saying so); a 0.10-style container provider (`start_container(image, **kwargs)`,
`wait_for_ready(base_url)`, `stop_container()`); or any provider of `openenv.providers`
(`start()` returning a handle with `base_url` and `stop()`; `image` is then the provider's own).
A failed start-up or connection stops whatever had started. `from_env` (Hugging Face Spaces) is
not ported: nothing here can reach the Hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openenv.client._base import ws_url
from openenv.core.client_types import StepResult

if TYPE_CHECKING:
    from openenv.core.sync_client import SyncEnvClient

__all__ = ["EnvClient"]

ActT = TypeVar("ActT")
ObsT = TypeVar("ObsT")
StateT = TypeVar("StateT")
T = TypeVar("T")
ClientT = TypeVar("ClientT", bound="EnvClient[Any, Any, Any]")
DOCKER_OPTIONS = frozenset({"port", "env_vars", "ready_timeout_s", "run_timeout_s", "docker", "extra_args"})


class EnvClient(ABC, Generic[ActT, ObsT, StateT]):
    """Base class of a 0.10-style environment client (see the module docstring)."""

    def __init__(
        self,
        base_url: str | None = None,
        connect_timeout_s: float = 10.0,
        message_timeout_s: float = 60.0,
        max_message_size_mb: float = 100.0,
        websocket_ping_interval_s: float | None = 20.0,
        websocket_ping_timeout_s: float | None = 20.0,
        provider: Any | None = None,
        mode: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if base_url is None and provider is None:
            raise ValueError("EnvClient needs base_url (or a provider)")
        if connect_timeout_s <= 0 or message_timeout_s <= 0 or max_message_size_mb <= 0:
            raise ValueError("timeouts and max_message_size_mb must be positive")
        self._base_url = base_url
        self._ws_url = ws_url(base_url) if base_url is not None else None
        self._connect_timeout = connect_timeout_s
        self._message_timeout = message_timeout_s
        self._max_message_size = int(max_message_size_mb * 1024 * 1024)
        self._ping_interval = websocket_ping_interval_s
        self._ping_timeout = websocket_ping_timeout_s
        self._provider = provider
        self._mode = mode
        self._headers = dict(headers or {})
        self._ws: ClientConnection | None = None
        self._ws_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._children: list[EnvClient[Any, Any, Any]] = []
        self._settings = {
            "base_url": base_url,
            "connect_timeout_s": connect_timeout_s,
            "message_timeout_s": message_timeout_s,
            "max_message_size_mb": max_message_size_mb,
            "websocket_ping_interval_s": websocket_ping_interval_s,
            "websocket_ping_timeout_s": websocket_ping_timeout_s,
            "mode": mode,
            "headers": headers,
        }

    @property
    def base_url(self) -> str | None:
        return self._base_url

    # -- sync or async, as the caller is --------------------------------------------------------
    def _dispatch(self, factory: Callable[[], Awaitable[T]]) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_sync(factory)
        return factory()

    def _run_sync(self, factory: Callable[[], Awaitable[T]]) -> T:
        if self._own_loop is None or self._own_loop.is_closed():
            self._own_loop = asyncio.new_event_loop()

        async def run() -> T:
            return await factory()

        return self._own_loop.run_until_complete(run())

    # -- connection -------------------------------------------------------------------------------
    def connect(self) -> Any:
        return self._dispatch(self._connect_async)

    async def _connect_async(self) -> EnvClient[ActT, ObsT, StateT]:
        loop = asyncio.get_running_loop()
        if self._ws is not None and self._ws_loop is loop:
            return self
        self._ws = None
        if self._ws_url is None:
            raise ConnectionError("no base_url to connect to")
        try:
            self._ws = await connect(
                self._ws_url,
                open_timeout=self._connect_timeout,
                max_size=self._max_message_size,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                additional_headers=self._headers or None,
                proxy=None,
            )
        except Exception as exc:
            raise ConnectionError(f"Failed to connect to {self._ws_url}: {exc}") from exc
        self._ws_loop = loop
        return self

    async def new_session(self) -> EnvClient[Any, Any, Any]:
        """A connected client of the same type on a new session of the same server (closed with this one)."""
        if self._base_url is None:
            raise ConnectionError("new_session needs a base_url")
        child = _clone(self)
        await child._connect_async()
        self._children.append(child)
        return child

    def disconnect(self) -> Any:
        return self._dispatch(self._disconnect_async)

    async def _disconnect_async(self) -> None:
        ws, self._ws, self._ws_loop = self._ws, None, None
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
            await asyncio.wait_for(ws.send(json.dumps({"type": "close"})), self._message_timeout)
        await ws.close()

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        await self._connect_async()
        ws = self._ws
        assert ws is not None
        with contextlib.suppress(ConnectionClosed):  # a refused session sends an error frame, then closes
            await ws.send(json.dumps(message))
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=self._message_timeout)
        except (TimeoutError, asyncio.CancelledError):
            self._ws, self._ws_loop = None, None  # a late reply must not pair with the next request
            asyncio.get_running_loop().create_task(ws.close())
            raise
        response: dict[str, Any] = json.loads(raw)
        if response.get("type") == "error":
            data = response.get("data", {})
            raise RuntimeError(
                f"Server error: {data.get('message', 'Unknown error')} (code: {data.get('code', 'UNKNOWN')})"
            )
        return response

    # -- what subclasses implement ----------------------------------------------------------------
    @abstractmethod
    def _step_payload(self, action: ActT) -> dict[str, Any]:
        """The `data` of a `step` frame for `action`."""

    @abstractmethod
    def _parse_result(self, payload: dict[str, Any]) -> StepResult[ObsT]:
        """A `StepResult` from an `observation` frame's `data`."""

    @abstractmethod
    def _parse_state(self, payload: dict[str, Any]) -> StateT:
        """The state from a `state` frame's `data`."""

    # -- the environment API ----------------------------------------------------------------------
    def reset(self, **kwargs: Any) -> Any:
        return self._dispatch(lambda: self._reset_async(**kwargs))

    async def _reset_async(self, **kwargs: Any) -> StepResult[ObsT]:
        response = await self._send_and_receive({"type": "reset", "data": kwargs})
        return self._parse_result(response.get("data", {}))

    def step(self, action: ActT, **kwargs: Any) -> Any:
        return self._dispatch(lambda: self._step_async(action, **kwargs))

    async def _step_async(self, action: ActT, **kwargs: Any) -> StepResult[ObsT]:
        response = await self._send_and_receive({"type": "step", "data": self._step_payload(action)})
        return self._parse_result(response.get("data", {}))

    def state(self) -> Any:
        return self._dispatch(self._state_async)

    async def _state_async(self) -> StateT:
        response = await self._send_and_receive({"type": "state"})
        return self._parse_state(response.get("data", {}))

    def close(self) -> Any:
        return self._dispatch(self._close_async)

    async def _close_async(self) -> None:
        children, self._children = self._children, []
        for child in children:
            with contextlib.suppress(Exception):
                await child._close_async()
        await self._disconnect_async()
        self._stop_provider()

    async def __aenter__(self) -> EnvClient[ActT, ObsT, StateT]:
        return await self._connect_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close_async()

    def __enter__(self) -> EnvClient[ActT, ObsT, StateT]:
        self._run_sync(self._connect_async)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._run_sync(self._close_async)
        if self._own_loop is not None:
            self._own_loop.close()
            self._own_loop = None

    def sync(self) -> SyncEnvClient[ActT, ObsT, StateT]:
        """A blocking view of this client (0.10's `SyncEnvClient`)."""
        from openenv.core.sync_client import SyncEnvClient

        return SyncEnvClient(self)

    # -- starting a server ------------------------------------------------------------------------
    @classmethod
    def from_docker_image(
        cls: type[ClientT], image: str, provider: Any | None = None, **kwargs: Any
    ) -> Bootstrap[ClientT]:
        """A handle that starts `image` and connects (see the module docstring)."""
        if not isinstance(image, str) or not image:
            raise ValueError("from_docker_image needs an image name")
        return Bootstrap(lambda: _start_server(cls, image, provider, kwargs))

    def _stop_provider(self) -> None:
        """Stop the server this client started, if any (idempotent: the provider is dropped)."""
        provider, self._provider = self._provider, None
        if provider is not None:
            stop = getattr(provider, "stop_container", None) or getattr(provider, "stop", None)
            if callable(stop):
                stop()


def _start_server(cls: type[ClientT], image: str, provider: Any | None, kwargs: dict[str, Any]) -> ClientT:
    """Start the server (blocking) and build an unconnected client that owns it."""
    if provider is None:
        from openenv.providers.docker import DockerProvider

        unknown = set(kwargs) - DOCKER_OPTIONS
        if unknown:
            raise TypeError(f"from_docker_image: unknown options {sorted(unknown)}; known: {sorted(DOCKER_OPTIONS)}")
        options = dict(kwargs)
        env = options.pop("env_vars", None) or {}
        handle: Any = DockerProvider(image, env=dict(env), **options).start()
        return _owning(cls, handle.base_url, handle)
    if callable(getattr(provider, "start_container", None)):  # 0.10's ContainerProvider
        try:
            base_url = provider.start_container(image, **kwargs)
            provider.wait_for_ready(base_url)
        except BaseException:
            provider.stop_container()
            raise
        return _owning(cls, base_url, provider)
    if callable(getattr(provider, "start", None)):  # one of openenv.providers
        if kwargs:
            raise TypeError(f"from_docker_image: options {sorted(kwargs)} go to the provider's constructor")
        handle = provider.start()
        return _owning(cls, handle.base_url, handle)
    raise TypeError(
        f"from_docker_image: {type(provider).__name__} is not a provider "
        "(it needs start_container/wait_for_ready/stop_container, or start)"
    )


def _owning(cls: type[ClientT], base_url: str, server: Any) -> ClientT:
    """`cls(base_url=..., provider=server)`; the server is stopped when that fails."""
    try:
        return cls(base_url=base_url, provider=server)
    except BaseException:
        stop = getattr(server, "stop_container", None) or getattr(server, "stop", None)
        if callable(stop):
            stop()
        raise


class Bootstrap(Coroutine[Any, Any, ClientT]):
    """What `from_docker_image` returns: await it, or call `sync()`; it resolves once."""

    def __init__(self, start: Callable[[], ClientT]) -> None:
        self._start: Callable[[], ClientT] | None = start
        self._coro: Coroutine[Any, Any, ClientT] | None = None

    def _take(self) -> Callable[[], ClientT]:
        start, self._start = self._start, None
        if start is None:
            raise RuntimeError("this handle was already used; call from_docker_image again for another server")
        return start

    async def _resolve(self) -> ClientT:
        started = asyncio.ensure_future(asyncio.to_thread(self._take()))
        try:
            client = await asyncio.shield(started)
        except asyncio.CancelledError:
            started.add_done_callback(_stop_started)  # the start-up finishes in its thread: undo it then
            raise
        try:
            await client._connect_async()
        except BaseException:
            client._stop_provider()
            raise
        return client

    def _coroutine(self) -> Coroutine[Any, Any, ClientT]:
        if self._coro is None:
            self._coro = self._resolve()
        return self._coro

    def __await__(self) -> Generator[Any, None, ClientT]:
        return self._coroutine().__await__()

    def send(self, value: Any) -> Any:
        return self._coroutine().send(value)

    def throw(self, *args: Any) -> Any:
        return self._coroutine().throw(*args)

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()
        elif self._start is not None:
            self._start = None  # never started: nothing to undo

    def sync(self) -> SyncEnvClient[Any, Any, Any]:
        """Start the server and return a connected blocking client (from sync code only)."""
        client = self._take()()
        view = client.sync()
        try:
            view.connect()
        except BaseException:
            client._stop_provider()
            view._loop.close()
            raise
        return view

    def __repr__(self) -> str:
        state = "not started" if self._start is not None else "used"
        return f"<from_docker_image handle ({state}): await it or call .sync()>"


def _stop_started(started: asyncio.Future[Any]) -> None:
    if not started.cancelled() and started.exception() is None:
        started.result()._stop_provider()


def _clone(client: EnvClient[Any, Any, Any]) -> EnvClient[Any, Any, Any]:
    """A fresh instance of `client`'s type with its connection settings (no provider)."""
    child = type(client).__new__(type(client))
    EnvClient.__init__(child, **client._settings)  # type: ignore[arg-type]
    for name, value in vars(client).items():  # subclass attributes set in their own __init__
        if name not in vars(child):
            setattr(child, name, value)
    return child
