"""0.10's `Rubric`: a reward function as a composable module (RFC 004's design).

`forward(action, observation) -> float` is the rule; calling the rubric runs forward pre-hooks,
`forward`, stores `last_score` and runs forward hooks. A rubric assigned as an attribute of another
becomes its child (`children`, `named_rubrics`, `get_rubric("a.b")`). `reset()` clears per-episode
state; `state_dict`/`load_state_dict` carry configuration.

Async, as in 0.10: when `forward` is an `async def`, or a synchronous `forward` hands back a
coroutine (a child's unawaited call), calling the rubric returns a coroutine; on that path hooks
that are `async def` are awaited. On the synchronous path every hook is simply called.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

__all__ = ["Rubric"]


class Rubric(ABC):
    """Base class of a reward rubric (see the module docstring)."""

    _rubric_children: dict[str, Rubric]
    _forward_hooks: list[Callable[..., Any]]
    _forward_pre_hooks: list[Callable[..., Any]]
    last_score: float | None

    def __init__(self) -> None:
        object.__setattr__(self, "_rubric_children", {})
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "last_score", None)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Rubric):
            self._rubric_children[name] = value
        object.__setattr__(self, name, value)

    def __call__(self, action: Any, observation: Any) -> Any:
        if inspect.iscoroutinefunction(self.forward):
            return self._call_async(action, observation)
        self._pre_hooks(action, observation)
        result = self.forward(action, observation)
        if inspect.iscoroutine(result):
            return self._finish_awaited(action, observation, result)
        return self._finish(action, observation, result)

    async def _call_async(self, action: Any, observation: Any) -> Any:
        await self._pre_hooks_async(action, observation)
        result = await self.forward(action, observation)  # type: ignore[misc]
        return await self._finish_async(action, observation, result)

    async def _finish_awaited(self, action: Any, observation: Any, pending: Coroutine[Any, Any, Any]) -> Any:
        return await self._finish_async(action, observation, await pending)

    # -- hook runners shared with the containers ---------------------------------------------------
    def _pre_hooks(self, action: Any, observation: Any, start: int = 0) -> None:
        """Call the pre-hooks from index `start` on (synchronous path)."""
        for hook in self._forward_pre_hooks[start:]:
            hook(self, action, observation)

    async def _pre_hooks_async(self, action: Any, observation: Any, start: int = 0) -> None:
        """Run the pre-hooks from index `start` on, awaiting those that are `async def`."""
        for hook in self._forward_pre_hooks[start:]:
            outcome = hook(self, action, observation)
            if inspect.iscoroutine(outcome):
                await outcome

    def _leading_pre_hooks(self, action: Any, observation: Any) -> int:
        """Call the pre-hooks before the first `async def` one; how many ran.

        A container learns whether it is on the async path only by calling its first child, yet
        its pre-hooks must run before any child: the plain ones run now, the rest later on
        whichever path it takes.
        """
        ran = 0
        for hook in self._forward_pre_hooks:
            if inspect.iscoroutinefunction(hook):
                break
            hook(self, action, observation)
            ran += 1
        return ran

    def _finish(self, action: Any, observation: Any, result: Any) -> Any:
        """Record `result` as `last_score` and call the forward hooks (synchronous path)."""
        self.last_score = result
        for hook in self._forward_hooks:
            hook(self, action, observation, result)
        return result

    async def _finish_async(self, action: Any, observation: Any, result: Any) -> Any:
        """Record `result` and run the forward hooks, awaiting those that are `async def`."""
        self.last_score = result
        for hook in self._forward_hooks:
            outcome = hook(self, action, observation, result)
            if inspect.iscoroutine(outcome):
                await outcome
        return result

    # -- the author's API --------------------------------------------------------------------------
    @abstractmethod
    def forward(self, action: Any, observation: Any) -> float:
        """The reward for `observation` after `action`."""

    def register_forward_hook(self, hook: Callable[..., Any]) -> None:
        """`hook(rubric, action, observation, result)` after each evaluation."""
        self._forward_hooks.append(hook)

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> None:
        """`hook(rubric, action, observation)` before each evaluation."""
        self._forward_pre_hooks.append(hook)

    def children(self) -> Iterator[Rubric]:
        yield from self._rubric_children.values()

    def named_children(self) -> Iterator[tuple[str, Rubric]]:
        yield from self._rubric_children.items()

    def rubrics(self) -> Iterator[Rubric]:
        for child in self._rubric_children.values():
            yield child
            yield from child.rubrics()

    def named_rubrics(self, prefix: str = "") -> Iterator[tuple[str, Rubric]]:
        for name, child in self._rubric_children.items():
            path = f"{prefix}.{name}" if prefix else name
            yield path, child
            yield from child.named_rubrics(path)

    def get_rubric(self, path: str) -> Rubric:
        """The descendant at a dot-separated path (KeyError when absent)."""
        node: Rubric = self
        for part in path.split("."):
            if part not in node._rubric_children:
                raise KeyError(f"no rubric at {path!r} (missing {part!r})")
            node = node._rubric_children[part]
        return node

    def reset(self) -> None:  # noqa: B027 — optional hook
        """Clear per-episode state (nothing by default)."""

    def state_dict(self) -> dict[str, Any]:
        """Configuration to save (empty by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 — optional hook
        """Restore configuration saved by `state_dict`."""
