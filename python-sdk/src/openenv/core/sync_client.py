"""0.10's `SyncEnvClient`: a blocking view of an `EnvClient` (what `EnvClient.sync()` returns).

Every call runs the wrapped client's coroutine on one event loop owned by this object, so it is
usable from plain sync code (and as a context manager); it must not be used from inside a running
event loop (use the async client there).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from openenv.core.client_types import StepResult

if TYPE_CHECKING:
    from openenv.core.env_client import EnvClient

__all__ = ["SyncEnvClient"]

ActT = TypeVar("ActT")
ObsT = TypeVar("ObsT")
StateT = TypeVar("StateT")


class SyncEnvClient(Generic[ActT, ObsT, StateT]):
    """Blocking wrapper of an async `EnvClient`."""

    def __init__(self, async_client: EnvClient[ActT, ObsT, StateT]) -> None:
        self._async = async_client
        self._loop = asyncio.new_event_loop()

    @property
    def async_client(self) -> EnvClient[ActT, ObsT, StateT]:
        return self._async

    def _run(self, coro: Any) -> Any:
        if self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def connect(self) -> SyncEnvClient[ActT, ObsT, StateT]:
        self._run(self._async._connect_async())
        return self

    def disconnect(self) -> None:
        self._run(self._async._disconnect_async())

    def reset(self, **kwargs: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = self._run(self._async._reset_async(**kwargs))
        return result

    def step(self, action: ActT, **kwargs: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = self._run(self._async._step_async(action, **kwargs))
        return result

    def state(self) -> StateT:
        state: StateT = self._run(self._async._state_async())
        return state

    def _step_payload(self, action: ActT) -> dict[str, Any]:
        return self._async._step_payload(action)

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[ObsT]:
        return self._async._parse_result(payload)

    def _parse_state(self, payload: dict[str, Any]) -> StateT:
        return self._async._parse_state(payload)

    def new_session(self) -> SyncEnvClient[Any, Any, Any]:
        """A blocking view of a new session against the same server."""
        return SyncEnvClient(self._run(self._async.new_session()))

    def close(self) -> None:
        try:
            self._run(self._async._close_async())
        finally:
            self._loop.close()

    def __enter__(self) -> SyncEnvClient[ActT, ObsT, StateT]:
        return self.connect()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        """Other attributes of the wrapped client; coroutine methods are run to completion."""
        attr = getattr(self._async, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            value = attr(*args, **kwargs)
            return self._run(value) if asyncio.iscoroutine(value) else value

        return call
