"""The rollout runner (see `openenv.rollout` for the contract)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import pydantic

from openenv.client.async_client import EnvClient, GenericEnvClient
from openenv.errors import CapacityReachedError, OpenEnvError
from openenv.pool import RetryPolicy

MAX_EPISODES = 100_000
"""Most episodes one `run_rollouts` call accepts."""
MAX_CONCURRENCY = 10_000
MAX_STEPS = 1_000_000
CAPACITY_RETRY = RetryPolicy(attempts=100)
"""How `UrlSessions` backs off between tries at a server at capacity (bounded by `capacity_wait_s`)."""

Policy = Callable[[Any], Any]
"""observation → action (a dict or an `Action` model), or an awaitable of one."""


@runtime_checkable
class Session(Protocol):
    """What a rollout needs of a session (an `EnvClient`, a pool's `PooledSession`)."""

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Any: ...

    async def step(self, action: Any) -> Any: ...

    async def close(self) -> None: ...


@runtime_checkable
class SessionSource(Protocol):
    """Anything that opens sessions: `EnvPool`, `UrlSessions`."""

    async def open_session(self) -> Any: ...


class UrlSessions:
    """A `SessionSource` over a list of server URLs: each `open_session()` connects a new client
    to the next URL, round-robin. `client_type` chooses the client class (typed results);
    `client_options` go to its constructor (`timeout_s`, `protocol`, `headers`, …).

    A server at capacity (`CAPACITY_REACHED`, before any episode starts on it) is tried again, on
    the next URL, after its `Retry-After` (backing off as `retry` says) for up to `capacity_wait_s`;
    then the refusal is the episode's error. Inside `run_rollouts` the wait counts against the
    episode's time bound. `capacity_wait_s=0` gives up at the first refusal.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        client_type: type[EnvClient[Any]] = GenericEnvClient,
        capacity_wait_s: float = 60.0,
        retry: RetryPolicy = CAPACITY_RETRY,
        **client_options: Any,
    ) -> None:
        if isinstance(urls, str) or not urls:
            raise ValueError("urls must be a non-empty list of server URLs")
        if not 0 <= capacity_wait_s <= 86_400:
            raise ValueError("capacity_wait_s must be in [0, 86400]")
        self.urls = list(urls)
        self.client_type = client_type
        self.capacity_wait_s = capacity_wait_s
        self.retry = retry
        self.client_options = client_options
        self._next = itertools.cycle(range(len(self.urls)))

    async def open_session(self) -> EnvClient[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.capacity_wait_s
        for attempt in itertools.count():
            client = self.client_type(self.urls[next(self._next)], **self.client_options)
            try:
                return await client.connect()
            except CapacityReachedError as refused:
                left = deadline - loop.time()
                if left <= 0 or attempt + 1 >= self.retry.attempts:
                    raise
                await asyncio.sleep(min(left, self.retry.delay(attempt, refused.details.get("retry_after"))))
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass(slots=True)
class EpisodeSpec:
    """One episode of a batch: the `reset` arguments (`seed`, `task_id`, …), and optionally its own
    policy and step bound."""

    reset: dict[str, Any] = field(default_factory=dict)
    policy: Policy | None = None
    max_steps: int | None = None
    tag: Any = None
    """Anything the caller wants back on the trajectory (e.g. the prompt's index)."""


@dataclass(slots=True)
class Transition:
    """One step: the action taken, what came back, and where the time went."""

    action: Any
    observation: Any
    reward: float | None
    terminated: bool
    truncated: bool
    metadata: dict[str, Any]
    policy_s: float
    env_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": _plain(self.action),
            "observation": _plain(self.observation),
            "reward": self.reward,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "metadata": _plain(self.metadata),
            "policy_s": self.policy_s,
            "env_s": self.env_s,
        }


@dataclass(slots=True)
class EpisodeError:
    """Why an episode ended early: the exception's class name and message, and at which step
    (`None`: before or during `reset`)."""

    type: str
    message: str
    step: int | None
    code: str | None = None
    """The wire error code, for a `RemoteError`."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "step": self.step, "code": self.code}


@dataclass(slots=True)
class Trajectory:
    """One episode's record (see the package docstring)."""

    index: int
    reset_args: dict[str, Any]
    tag: Any = None
    session_id: str | None = None
    source: str | None = None
    initial_observation: Any = None
    steps: list[Transition] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False
    truncated_by: Literal["env", "client"] | None = None
    error: EpisodeError | None = None
    started_at: float = 0.0
    """Unix time the episode started."""
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the episode ran without an error (it may still be truncated)."""
        return self.error is None

    @property
    def rewards(self) -> list[float]:
        """Per-step rewards (`None` counts as 0.0)."""
        return [t.reward or 0.0 for t in self.steps]

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))

    @property
    def actions(self) -> list[Any]:
        return [t.action for t in self.steps]

    @property
    def observations(self) -> list[Any]:
        """The reset's observation, then one per step."""
        return [self.initial_observation, *(t.observation for t in self.steps)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (`schemas/Trajectory.schema.json`)."""
        return {
            "index": self.index,
            "reset": _plain(self.reset_args),
            "session_id": self.session_id,
            "source": self.source,
            "initial_observation": _plain(self.initial_observation),
            "steps": [t.to_dict() for t in self.steps],
            "total_reward": self.total_reward,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "truncated_by": self.truncated_by,
            "error": self.error.to_dict() if self.error else None,
            "started_at": self.started_at,
            "wall_s": self.wall_s,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class EpisodeTimeout(OpenEnvError):
    """The episode ran past `episode_timeout_s`."""


def _specs(episodes: int | Sequence[EpisodeSpec | Mapping[str, Any]]) -> list[EpisodeSpec]:
    if isinstance(episodes, int):
        if not 0 <= episodes <= MAX_EPISODES:
            raise ValueError(f"episodes must be in 0..{MAX_EPISODES}")
        return [EpisodeSpec() for _ in range(episodes)]
    if len(episodes) > MAX_EPISODES:
        raise ValueError(f"at most {MAX_EPISODES} episodes per batch")
    specs: list[EpisodeSpec] = []
    for i, item in enumerate(episodes):
        if isinstance(item, EpisodeSpec):
            specs.append(item)
        elif isinstance(item, Mapping):
            specs.append(EpisodeSpec(reset=dict(item)))
        else:
            raise TypeError(f"episodes[{i}] must be an EpisodeSpec or a dict of reset arguments")
    return specs


def _is_async(policy: Policy) -> bool:
    return inspect.iscoroutinefunction(policy) or inspect.iscoroutinefunction(type(policy).__call__)


async def _act(policy: Policy, observation: Any, is_async: bool, in_thread: bool) -> Any:
    if is_async:
        return await policy(observation)
    result = await asyncio.to_thread(policy, observation) if in_thread else policy(observation)
    if inspect.isawaitable(result):
        return await result
    return result


def _at(trajectory: Trajectory) -> int | None:
    """The step an error happened at (None: before the reset answered)."""
    return len(trajectory.steps) if trajectory.initial_observation is not None else None


def _error(exc: BaseException, step: int | None) -> EpisodeError:
    code = getattr(exc, "code", None)
    return EpisodeError(type(exc).__name__, str(exc), step, code if isinstance(code, str) else None)


async def _episode(
    source: SessionSource,
    spec: EpisodeSpec,
    trajectory: Trajectory,
    policy: Policy,
    max_steps: int,
    timeout_s: float,
    in_thread: bool,
) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    trajectory.started_at = time.time()
    session: Any = None
    is_async = _is_async(policy)  # decided once per episode, not per step
    bound = asyncio.timeout(timeout_s)
    try:
        async with bound:
            session = await source.open_session()
            trajectory.source = getattr(session, "base_url", None) or getattr(
                getattr(session, "settings", None), "base_url", None
            )
            trajectory.session_id = getattr(session, "session_id", None) or getattr(
                getattr(session, "client", None), "session_id", None
            )
            result = await session.reset(**spec.reset)
            trajectory.initial_observation = result.observation
            done = bool(result.done)
            while not done:
                if len(trajectory.steps) >= max_steps:
                    trajectory.truncated, trajectory.truncated_by = True, "client"
                    break
                p0 = loop.time()
                action = await _act(policy, result.observation, is_async, in_thread)
                e0 = loop.time()
                result = await session.step(action)
                e1 = loop.time()
                trajectory.steps.append(
                    Transition(
                        action=action,
                        observation=result.observation,
                        reward=result.reward,
                        terminated=bool(result.terminated),
                        truncated=bool(result.truncated),
                        metadata=dict(result.metadata or {}),
                        policy_s=e0 - p0,
                        env_s=e1 - e0,
                    )
                )
                done = bool(result.done)
                if done:
                    trajectory.terminated = bool(result.terminated)
                    trajectory.truncated = bool(result.truncated)
                    trajectory.truncated_by = "env" if result.truncated else None
    except TimeoutError as exc:
        timeout: BaseException = EpisodeTimeout(f"episode ran past {timeout_s:g} s") if bound.expired() else exc
        trajectory.error = _error(timeout, _at(trajectory))
    except Exception as exc:  # an episode's failure is recorded on it, never raised
        trajectory.error = _error(exc, _at(trajectory))
    finally:
        trajectory.wall_s = loop.time() - t0
        if session is not None:
            with contextlib.suppress(Exception):  # a session that cannot close cleanly is already gone
                await asyncio.shield(_close(session))


async def _close(session: Any) -> None:
    async with asyncio.timeout(5.0):
        await session.close()


async def run_rollouts(
    source: SessionSource | Sequence[str],
    policy: Policy | None,
    episodes: int | Sequence[EpisodeSpec | Mapping[str, Any]],
    *,
    concurrency: int = 16,
    max_steps: int = 100,
    episode_timeout_s: float = 300.0,
    sync_policy_in_thread: bool = True,
) -> list[Trajectory]:
    """Run `episodes` (a count, or one `EpisodeSpec`/dict of reset arguments each) on sessions
    from `source`, at most `concurrency` at a time; one `Trajectory` per episode, in order."""
    if not isinstance(source, SessionSource):
        source = UrlSessions(source)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be in 1..{MAX_CONCURRENCY}")
    if not 1 <= max_steps <= MAX_STEPS:
        raise ValueError(f"max_steps must be in 1..{MAX_STEPS}")
    if not 0 < episode_timeout_s <= 86_400:
        raise ValueError("episode_timeout_s must be in (0, 86400]")
    specs = _specs(episodes)
    for i, spec in enumerate(specs):
        if spec.policy is None and policy is None:
            raise ValueError(f"episode {i} has no policy (pass policy= or EpisodeSpec.policy)")
        if spec.max_steps is not None and not 1 <= spec.max_steps <= MAX_STEPS:
            raise ValueError(f"episode {i}: max_steps must be in 1..{MAX_STEPS}")
    trajectories = [Trajectory(index=i, reset_args=dict(s.reset), tag=s.tag) for i, s in enumerate(specs)]
    queue = iter(range(len(specs)))

    async def worker() -> None:
        for i in queue:
            spec = specs[i]
            chosen = spec.policy or policy
            assert chosen is not None
            await _episode(
                source,
                spec,
                trajectories[i],
                chosen,
                spec.max_steps or max_steps,
                episode_timeout_s,
                sync_policy_in_thread,
            )

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(specs))):
            group.create_task(worker())
    return trajectories


def run_rollouts_sync(
    source: SessionSource | Sequence[str],
    policy: Policy | None,
    episodes: int | Sequence[EpisodeSpec | Mapping[str, Any]],
    **options: Any,
) -> list[Trajectory]:
    """`run_rollouts` from sync code (runs its own event loop; not from inside a running one)."""
    return asyncio.run(run_rollouts(source, policy, episodes, **options))


__all__ = [
    "MAX_EPISODES",
    "EpisodeError",
    "EpisodeSpec",
    "EpisodeTimeout",
    "Policy",
    "Session",
    "SessionSource",
    "Trajectory",
    "Transition",
    "UrlSessions",
    "run_rollouts",
    "run_rollouts_sync",
]
