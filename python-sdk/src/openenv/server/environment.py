"""The `Environment` base class environment authors implement.

One instance serves one session. `reset`, `step`, `state` and `close` may be `async def` (run on the
event loop — keep them non-blocking) or plain `def`: those run on the session's own worker thread,
so a blocking or hung environment holds only its own session (and thread-affine libraries always
see the same thread). A sync environment whose methods never block may set `blocking = False` to
run them on the event loop and skip the thread hop. `close` releases what the instance holds; it is
called exactly once, when the session ends, whatever the reason.

What the runtime guarantees, so an environment need not (spec: overview.md, "Episodes"):

* it owns the episode bookkeeping: whether the session has an episode, its `episode_id` (the one
  the client asked for, or a fresh UUID) and its `step_count` (steps answered with an
  observation since the last reset). A `state` reply always carries the runtime's values for
  these two members, whatever `state()` returns (OE-GEN-005, OE-GEN-006, OE-GEN-011);
* `state` before the first `reset` is answered by the runtime from the defaults of `state_type`,
  without calling the environment (OE-GEN-012) — `state()` is only called once an episode exists
  (or when `state_type` has required members the runtime cannot fill);
* `reset` receives only the keyword arguments its signature accepts;
* with `trajectory_max_steps = N` it records each episode (RFC 0004): every step answered with an
  observation — the action as received, the observation, the reward — at most the newest N (and
  at most `max_message_bytes` of them), cleared by `reset`, returned as the `trajectory` member of
  every `state` reply and declared in `/metadata` (OE-RWD-006 … OE-RWD-009). An environment does
  not keep its own copy; one that leaves the attribute unset pays nothing per step;
* with `taskset = Taskset(...)` (RFC 0006) it serves the Task API and `/metadata` declares the
  taskset with its splits (OE-TASK-004, OE-TASK-008); `reset` picks the task itself (`task_id`,
  `split`, `seed` are ordinary reset parameters).

What an environment may override: `reset` (required), `step` (required), `state` (optional: the
default reports `state_type()`; override to add members), `close` (optional).

The class is generic over its action, observation and state models —
`class MyEnv(Environment[MyAction, MyObservation, MyState])` — so that type checkers see the
real types (a bare `Environment` means `Any` for each); either method form (`def` or `async def`)
satisfies the base signatures, under `mypy --strict` too.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, ClassVar, Generic, cast

from typing_extensions import TypeVar

from openenv.protocol.server import MAX_TRAJECTORY_STEPS
from openenv.server.faults import ToolCallFailed
from openenv.server.tools import ToolSpec, collect_tools, validated_arguments
from openenv.tasks import Taskset
from openenv.types import Action, Observation, State

# Defaults of Any: a bare `Environment` base (as most authors write it) accepts any typed override.
ActT = TypeVar("ActT", bound=Action, default=Any)
ObsT = TypeVar("ObsT", bound=Observation, default=Any)
StateT = TypeVar("StateT", bound=State, default=Any)


class Environment(Generic[ActT, ObsT, StateT]):
    """Base class of an OpenEnv environment. Subclass and set the type attributes."""

    action_type: ClassVar[type[Action]] = Action
    """The action model; `step` receives instances of it (validated from the wire)."""
    observation_type: ClassVar[type[Observation]] = Observation
    """The observation model `step` returns (published by `/schema`)."""
    reset_observation_type: ClassVar[type[Observation] | None] = None
    """The observation model `reset` returns, when it differs from `observation_type`."""
    state_type: ClassVar[type[State]] = State
    """The state model `state` returns (published by `/schema`)."""
    blocking: ClassVar[bool] = True
    """Whether sync methods may block; False runs them on the event loop (fast, but a slow call
    then stalls every session of the server)."""
    deterministic: ClassVar[bool] = True
    """False when observations are not a function of the reset seed and the actions (a live
    service, real time): `/metadata` then says `capabilities.deterministic: false` (OE-HTTP-028)."""
    description: ClassVar[str | None] = None
    """A one-paragraph description for `/metadata` (defaults to the class docstring)."""
    trajectory_max_steps: ClassVar[int | None] = None
    """Record each episode, keeping its newest N steps (1..100,000), and return the record with the
    state (see the module doc); None (the default) records nothing."""
    taskset: ClassVar[Taskset | None] = None
    """The environment's tasks (`openenv.tasks.Taskset`): serves the Task API (see the module doc)."""

    _tool_specs: ClassVar[dict[str, ToolSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bound = cls.trajectory_max_steps
        if bound is not None and (type(bound) is not int or not 1 <= bound <= MAX_TRAJECTORY_STEPS):
            raise TypeError(
                f"{cls.__name__}.trajectory_max_steps must be None or an integer in 1..{MAX_TRAJECTORY_STEPS}, "
                f"not {bound!r}"
            )
        if cls.taskset is not None and not isinstance(cls.taskset, Taskset):
            kind = type(cls.taskset).__name__
            raise TypeError(f"{cls.__name__}.taskset must be an openenv.tasks.Taskset, not {kind}")
        cls._tool_specs = collect_tools(cls)

    @classmethod
    def tool_specs(cls) -> list[ToolSpec]:
        """The environment's `@tool` methods, sorted by name (served as MCP tools)."""
        return [cls._tool_specs[name] for name in sorted(cls._tool_specs)]

    @classmethod
    def find_tool(cls, name: str, arguments: dict[str, Any]) -> tuple[ToolSpec, dict[str, Any]]:
        """The tool and its validated arguments.

        Raises:
            ToolCallFailed: unknown tool (`tool_not_found`) or bad arguments (`invalid_args`).
        """
        spec = cls._tool_specs.get(name)
        if spec is None:
            raise ToolCallFailed("tool_not_found", f"Unknown tool: {name!r}")
        return spec, validated_arguments(spec, name, arguments)

    def reset(self) -> Observation | Awaitable[Observation]:
        """Start a new episode and return its first observation.

        Override with the keyword parameters you accept — typically
        `seed: int | None = None, episode_id: str | None = None`, plus any of your own: the runtime
        passes only those your signature names (all of them with `**kwargs`).
        """
        raise NotImplementedError

    def step(self, action: ActT) -> ObsT | Awaitable[ObsT]:
        """Apply one action and return the next observation."""
        raise NotImplementedError

    def state(self) -> StateT | Awaitable[StateT]:
        """The current episode state; the default is `state_type()`. The runtime sets its
        `episode_id` and `step_count` members (see the module doc)."""
        return cast(StateT, self.state_type())

    def close(self) -> Awaitable[None] | None:
        """Release resources; called once when the session ends."""
        return None

    @classmethod
    def reset_parameters(cls) -> tuple[frozenset[str], bool]:
        """Names `reset` accepts and whether it takes `**kwargs`."""
        signature = inspect.signature(cls.reset)
        names = frozenset(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        var_kw = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        return names, var_kw

    @classmethod
    def is_async(cls, method: str) -> bool:
        """Whether the named method is a coroutine function."""
        return inspect.iscoroutinefunction(getattr(cls, method))
