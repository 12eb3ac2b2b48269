"""The `Environment` base class environment authors implement.

One instance serves one session. `reset`, `step` and `state` may be `async def` (run on the event
loop — keep them non-blocking) or plain `def`: those run on the session's own worker thread, so a
blocking or hung environment holds only its own session (and thread-affine libraries always see
the same thread). A sync environment whose methods never block may set `blocking = False` to run
them on the event loop and skip the thread hop. `close` releases what the instance holds; it is
called exactly once, when the session ends, whatever the reason.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from openenv.server.toolspec import ToolCallFailed, ToolSpec, collect_tools, validated_arguments
from openenv.types import Action, Observation, State


class Environment:
    """Base class of an OpenEnv environment. Subclass and set the three type attributes."""

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
    description: ClassVar[str | None] = None
    """A one-paragraph description for `/metadata` (defaults to the class docstring)."""

    _tool_specs: ClassVar[dict[str, ToolSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
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

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        """Start a new episode and return its first observation."""
        raise NotImplementedError

    def step(self, action: Any) -> Observation:
        """Apply one action and return the next observation."""
        raise NotImplementedError

    def state(self) -> State:
        """The current episode state (`episode_id`, `step_count`, extra fields)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; called once when the session ends."""

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
