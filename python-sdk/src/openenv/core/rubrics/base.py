"""0.10's `Rubric`: a reward function as a composable module (RFC 004's design).

`forward(action, observation) -> float` is the rule; calling the rubric runs forward pre-hooks,
`forward`, stores `last_score` and runs forward hooks. A rubric assigned as an attribute of another
becomes its child (`children`, `named_rubrics`, `get_rubric("a.b")`). An `async def forward` makes
the call awaitable. `reset()` clears per-episode state; `state_dict`/`load_state_dict` carry
configuration.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
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
        for hook in self._forward_pre_hooks:
            hook(self, action, observation)
        result = self.forward(action, observation)
        if inspect.isawaitable(result):
            return self._finish_awaited(action, observation, result)
        return self._finish_forward(action, observation, result)

    def _finish_forward(self, action: Any, observation: Any, result: float) -> float:
        self.last_score = result
        for hook in self._forward_hooks:
            hook(self, action, observation, result)
        return result

    async def _finish_awaited(self, action: Any, observation: Any, pending: Any) -> float:
        return self._finish_forward(action, observation, await pending)

    async def _call_async(self, action: Any, observation: Any) -> float:
        for hook in self._forward_pre_hooks:
            outcome = hook(self, action, observation)
            if inspect.isawaitable(outcome):
                await outcome
        result = await self.forward(action, observation)  # type: ignore[misc]
        return self._finish_forward(action, observation, result)

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
