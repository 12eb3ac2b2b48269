"""`EnvHost`: one environment instance, called the way its methods ask to be called.

Async methods run on the event loop; sync methods run on the session's own worker thread (created on
first use), so a blocking or hung environment holds only its own session. Every call is bounded by
the step timeout; `close()` runs exactly once, after any call still running on the worker thread.
The host holds the instance's `EpisodeLedger` (the runtime's episode bookkeeping, see
`protocol.server`), with a `TrajectoryRecord` when the class sets `trajectory_max_steps`;
`state()` answers from the state model's defaults while no episode exists.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import pydantic

from openenv.protocol.server import Episode, EpisodeLedger, TrajectoryRecord
from openenv.server.carrier import Adopted
from openenv.server.config import DEFAULT_MAX_MESSAGE_BYTES
from openenv.server.environment import Environment
from openenv.server.faults import InvalidRequest, StepTimedOut
from openenv.server.watchdog import Watchdog
from openenv.types import Observation, State

MAX_EPISODE_ID_CHARS = 255
MAX_SEED = 2**53 - 1


@dataclass(frozen=True, slots=True)
class _ClassFacts:
    is_async: tuple[tuple[str, bool], ...]
    reset_names: frozenset[str]
    reset_var_kw: bool
    initial_state: dict[str, Any] | None


_FACTS: dict[type[Environment[Any, Any, Any]], _ClassFacts] = {}


def _class_facts(cls: type[Environment[Any, Any, Any]]) -> _ClassFacts:
    """What `EnvHost` needs to know about an environment class, worked out once per class."""
    facts = _FACTS.get(cls)
    if facts is None:
        names, var_kw = cls.reset_parameters()
        methods = tuple((n, cls.is_async(n)) for n in ("reset", "step", "state", "close"))
        try:
            initial: dict[str, Any] | None = cls.state_type().model_dump(mode="json")
        except pydantic.ValidationError:  # required members: only the environment can answer
            initial = None
        facts = _FACTS[cls] = _ClassFacts(methods, names, var_kw, initial)
    return facts


class EnvHost:
    """Wraps one `Environment` instance for one session."""

    __slots__ = (
        "_async",
        "_closed",
        "_deadline",
        "_executor",
        "_initial_state",
        "_inline",
        "_loop",
        "_reset_names",
        "_reset_var_kw",
        "_task",
        "_timed_out",
        "env",
        "ledger",
        "timeout",
        "watchdog",
    )

    def __init__(
        self,
        env: Environment[Any, Any, Any],
        timeout: float,
        watchdog: Watchdog | None = None,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        cls = type(env)
        self.env = env
        self.timeout = timeout
        self.watchdog = watchdog
        facts = _class_facts(cls)
        self._async = dict(facts.is_async)
        self._inline = not cls.blocking
        self._reset_names, self._reset_var_kw = facts.reset_names, facts.reset_var_kw
        self._initial_state = facts.initial_state
        bound = cls.trajectory_max_steps
        self.ledger = EpisodeLedger(trajectory=TrajectoryRecord(bound, max_message_bytes) if bound else None)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._deadline = 0.0
        self._task: asyncio.Task[Any] | None = None
        self._timed_out = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- Watched: the watchdog cancels a call that outlives its deadline ---------------------------
    def deadline(self) -> float:
        return self._deadline

    def expire(self) -> None:
        self._timed_out = True
        if self._task is not None:
            self._task.cancel()

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method: Callable[..., Any] = getattr(self.env, name)
        is_async = self._async.get(name)
        if is_async is None:
            is_async = self._async[name] = type(self.env).is_async(name)
        if not is_async and self._inline:
            return method(*args, **kwargs)  # declared non-blocking: run on the loop
        watchdog = self.watchdog
        if watchdog is None:  # no watchdog (e.g. direct use in tests): a plain timer
            try:
                async with asyncio.timeout(self.timeout):
                    return await (method(*args, **kwargs) if is_async else self._in_thread(method, args, kwargs))
            except TimeoutError:
                raise StepTimedOut(name) from None
        loop = self._loop
        if loop is None:  # looked up once: `get_running_loop()` costs a getpid() system call
            loop = self._loop = asyncio.get_running_loop()
        started = loop.time()
        pending: Any
        if is_async:
            coro = method(*args, **kwargs)
            try:
                yielded = coro.send(None)  # a cheap environment's call often never waits: no bookkeeping
            except StopIteration as done:
                return done.value
            pending = Adopted(coro, yielded)  # it waits: from here on the watchdog bounds it
        else:
            pending = self._in_thread(method, args, kwargs)
        self._deadline = started + self.timeout
        self._task = asyncio.current_task(loop)
        watchdog.running.add(self)
        try:
            return await pending
        except asyncio.CancelledError:
            if not self._timed_out:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise StepTimedOut(name) from None
        finally:
            watchdog.running.discard(self)
            self._task = None

    def _in_thread(self, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An awaitable for `method` on the session's own worker thread."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="openenv-env")
        return asyncio.wrap_future(self._executor.submit(lambda: method(*args, **kwargs)))

    def reset_kwargs(self, data: dict[str, Any], *, strict: bool) -> dict[str, Any]:
        """Check `reset` data and keep what the environment's `reset` accepts.

        `seed` must be an integer 0..2^53-1 and `episode_id` a string of 1..255 characters (or
        null), OE-WS-011.
        `episode_id` is the runtime's (OE-GEN-005): always accepted, passed on only when `reset`
        names it. Other keys `reset` does not accept are rejected when `strict`, dropped otherwise
        (base level).
        """
        problems: list[dict[str, Any]] = []
        seed = data.get("seed")
        if seed is not None and (type(seed) is not int or not 0 <= seed <= MAX_SEED):
            problems.append(_entry("seed", f"Input should be an integer from 0 to {MAX_SEED}", seed))
        episode_id = data.get("episode_id")
        if episode_id is not None and (type(episode_id) is not str or not 0 < len(episode_id) <= MAX_EPISODE_ID_CHARS):
            problems.append(_entry("episode_id", "Input should be a string of 1 to 255 characters", episode_id))
        if self._reset_var_kw:
            kwargs = data
        else:
            kwargs = {k: v for k, v in data.items() if k in self._reset_names}
            if strict and len(kwargs) != len(data):
                for key in data.keys() - kwargs.keys() - {"episode_id"}:
                    problems.append(
                        {
                            "type": "extra_forbidden",
                            "loc": [key],
                            "msg": "reset does not accept this parameter",
                            "input": data[key],
                        }
                    )
        if problems:
            raise InvalidRequest("Invalid reset parameters", problems)
        return kwargs

    async def reset(self, kwargs: dict[str, Any]) -> Observation:
        return _observation(await self._call("reset", **kwargs), "reset")

    async def step(self, action: Any) -> Observation:
        return _observation(await self._call("step", action), "step")

    async def invoke(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call any method of the environment (e.g. an MCP tool) under the same rules."""
        return await self._call(name, *args, **kwargs)

    async def state(self) -> dict[str, Any]:
        """The environment's state members (the caller stamps the ledger's on top): before the
        first reset the state model's defaults, without calling the environment (OE-GEN-012)."""
        if self.ledger.phase is Episode.NOT_STARTED and self._initial_state is not None:
            return dict(self._initial_state)
        state = await self._call("state")
        if isinstance(state, State):
            return state.model_dump(mode="json")
        if isinstance(state, dict):
            return state
        raise TypeError(f"state() returned {type(state).__name__}, expected State")

    async def close(self) -> None:
        """Close the environment once; never raises."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        try:
            if self._async["close"]:
                await cast(Awaitable[None], self.env.close())
            elif executor is not None:
                # Runs after any call still in flight on the session's thread.
                await asyncio.wrap_future(executor.submit(self.env.close))
            else:
                self.env.close()
        except Exception:
            import logging

            logging.getLogger("openenv.server").exception("environment close() failed")
        finally:
            if executor is not None:
                executor.shutdown(wait=False)

    def close_later(self) -> None:
        """Close after a timed-out call finishes, without waiting for it."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.submit(self.env.close)
        executor.shutdown(wait=False)


def _entry(field: str, msg: str, value: Any) -> dict[str, Any]:
    return {"type": "value_error", "loc": [field], "msg": msg, "input": value}


def _observation(value: Any, operation: str) -> Observation:
    if not isinstance(value, Observation):
        raise TypeError(f"{operation}() returned {type(value).__name__}, expected an Observation")
    return value


def wire_observation(obs: Observation) -> dict[str, Any]:
    """The `observation` object sent on the wire: the model's fields minus the episode fields."""
    return obs.model_dump(mode="json", exclude=_EPISODE_FIELDS)


def wire_observation_json(obs: Observation) -> orjson.Fragment:
    """`wire_observation` already encoded (one serialisation pass, embedded as is by orjson)."""
    return orjson.Fragment(obs.__pydantic_serializer__.to_json(obs, exclude=_EPISODE_FIELDS))


_EPISODE_FIELDS: set[str] = {"reward", "done", "terminated", "truncated"}
