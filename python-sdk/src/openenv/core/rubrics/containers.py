"""0.10's rubric containers: `Sequential`, `Gate`, `WeightedSum`, `RubricList`, `RubricDict`.

What each computes, as in 0.10:

* `Sequential(*rubrics)`: the children in order; the first score equal to 0 makes the result 0.0
  and the rest are not evaluated; otherwise the last child's score (1.0 with no children).
* `Gate(rubric, threshold=1.0)`: the child's score, or 0.0 when it is below `threshold`.
* `WeightedSum(rubrics, weights)`: Σ weight × score over every child; the weights must match the
  rubrics in number and sum to 1 (within 1e-6), else `ValueError`.
* `RubricList` / `RubricDict`: hold children for a parent's own `forward` (indexed or keyed); they
  compute nothing themselves (calling one raises `NotImplementedError`).

Children are registered as `rubric_0`, `rubric_1`, … (a `RubricDict`'s under their keys), so
`named_rubrics()` and `get_rubric("rubric_0")` reach them.

Async children, as in 0.10: a container calls its children synchronously and switches to the async
path (returns a coroutine) as soon as one hands back a coroutine; `WeightedSum` then awaits its
async children concurrently (`asyncio.gather`). A `Sequential` whose children are all synchronous
also returns a coroutine when it finishes inside a running event loop without short-circuiting
(or has no children there): 0.10 does so, and environments written for it rely on awaiting it.
Pre-hooks run before the first child is evaluated, except `async def` ones (and those after
them), which run once the path is known.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from typing import Any

from openenv.core.rubrics.base import Rubric

__all__ = ["Gate", "RubricDict", "RubricList", "Sequential", "WeightedSum"]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _check_child(rubric: Any, where: str) -> Rubric:
    """`rubric` when it can be called (0.10 also takes plain functions; only `Rubric`s become
    children); a clear `TypeError` now rather than at the first evaluation otherwise."""
    if not callable(rubric):
        raise TypeError(f"{where}: expected a Rubric, got {type(rubric).__name__}")
    return rubric  # type: ignore[no-any-return]


class Sequential(Rubric):
    """Children in order, stopping at the first zero (see the module docstring)."""

    def __init__(self, *rubrics: Rubric):
        super().__init__()
        for index, rubric in enumerate(rubrics):
            setattr(self, f"rubric_{index}", _check_child(rubric, f"Sequential child {index}"))
        self._rubric_list = list(rubrics)

    def forward(self, action: Any, observation: Any) -> float:
        """The rule without hooks on this container (children are still called normally)."""
        result = 1.0
        for rubric in self._rubric_list:
            score = rubric(action, observation)
            if score == 0.0:
                return 0.0
            result = score
        return result

    def __call__(self, action: Any, observation: Any) -> Any:
        if not self._rubric_list:
            if _loop_running():
                return self._done_async(action, observation, 1.0, 0)
            self._pre_hooks(action, observation)
            return self._finish(action, observation, 1.0)
        ran = self._leading_pre_hooks(action, observation)
        result: Any = 1.0
        for index, rubric in enumerate(self._rubric_list):
            score = rubric(action, observation)
            if inspect.iscoroutine(score):
                return self._continue_async(action, observation, score, index + 1, ran)
            if score == 0.0:
                self._pre_hooks(action, observation, ran)
                return self._finish(action, observation, 0.0)
            result = score
        if _loop_running():
            return self._done_async(action, observation, result, ran)
        self._pre_hooks(action, observation, ran)
        return self._finish(action, observation, result)

    async def _done_async(self, action: Any, observation: Any, result: Any, ran: int) -> Any:
        await self._pre_hooks_async(action, observation, ran)
        return await self._finish_async(action, observation, result)

    async def _continue_async(
        self, action: Any, observation: Any, pending: Coroutine[Any, Any, Any], following: int, ran: int
    ) -> Any:
        await self._pre_hooks_async(action, observation, ran)
        result = await pending
        if result == 0.0:
            return await self._finish_async(action, observation, 0.0)
        for rubric in self._rubric_list[following:]:
            score = rubric(action, observation)
            if inspect.iscoroutine(score):
                score = await score
            if score == 0.0:
                return await self._finish_async(action, observation, 0.0)
            result = score
        return await self._finish_async(action, observation, result)

    def __len__(self) -> int:
        return len(self._rubric_list)

    def __getitem__(self, index: int) -> Rubric:
        return self._rubric_list[index]


class Gate(Rubric):
    """The child's score when it reaches `threshold`, else 0.0."""

    def __init__(self, rubric: Rubric, threshold: float = 1.0):
        super().__init__()
        self.rubric = _check_child(rubric, "Gate")
        self.threshold = threshold

    def forward(self, action: Any, observation: Any) -> float:
        """The rule without hooks on this container."""
        score: float = self.rubric(action, observation)
        return 0.0 if score < self.threshold else score

    def __call__(self, action: Any, observation: Any) -> Any:
        ran = self._leading_pre_hooks(action, observation)
        score = self.rubric(action, observation)
        if inspect.iscoroutine(score):
            return self._gate_async(action, observation, score, ran)
        self._pre_hooks(action, observation, ran)
        return self._finish(action, observation, 0.0 if score < self.threshold else score)

    async def _gate_async(self, action: Any, observation: Any, pending: Coroutine[Any, Any, Any], ran: int) -> Any:
        await self._pre_hooks_async(action, observation, ran)
        score = await pending
        return await self._finish_async(action, observation, 0.0 if score < self.threshold else score)


class WeightedSum(Rubric):
    """Σ weight × score over every child (see the module docstring)."""

    def __init__(self, rubrics: list[Rubric], weights: list[float]):
        super().__init__()
        if len(rubrics) != len(weights):
            raise ValueError(f"WeightedSum: {len(rubrics)} rubrics but {len(weights)} weights")
        total = sum(weights)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"WeightedSum: the weights must sum to 1.0, they sum to {total}")
        for index, rubric in enumerate(rubrics):
            setattr(self, f"rubric_{index}", _check_child(rubric, f"WeightedSum child {index}"))
        self._rubric_list = list(rubrics)
        self._weights = list(weights)

    def _total(self, scores: Sequence[Any]) -> float:
        total = 0.0
        for score, weight in zip(scores, self._weights, strict=True):
            total += score * weight  # in order, as 0.10 adds them (same rounding)
        return total

    def forward(self, action: Any, observation: Any) -> float:
        """The rule without hooks on this container."""
        return self._total([rubric(action, observation) for rubric in self._rubric_list])

    def __call__(self, action: Any, observation: Any) -> Any:
        ran = self._leading_pre_hooks(action, observation)
        scores = [rubric(action, observation) for rubric in self._rubric_list]
        if any(inspect.iscoroutine(score) for score in scores):
            return self._sum_async(action, observation, scores, ran)
        self._pre_hooks(action, observation, ran)
        return self._finish(action, observation, self._total(scores))

    async def _sum_async(self, action: Any, observation: Any, scores: list[Any], ran: int) -> Any:
        await self._pre_hooks_async(action, observation, ran)
        waiting = [index for index, score in enumerate(scores) if inspect.iscoroutine(score)]
        for index, value in zip(waiting, await asyncio.gather(*(scores[i] for i in waiting)), strict=True):
            scores[index] = value
        return await self._finish_async(action, observation, self._total(scores))

    @property
    def weights(self) -> list[float]:
        """A copy of the weights."""
        return list(self._weights)


class RubricList(Rubric):
    """An indexed list of child rubrics for a parent's `forward`; computes nothing itself."""

    def __init__(self, rubrics: list[Rubric] | None = None):
        super().__init__()
        self._rubrics: list[Rubric] = []
        if rubrics is not None:
            self.extend(rubrics)

    def forward(self, action: Any, observation: Any) -> float:
        raise NotImplementedError(
            "a RubricList does not aggregate its rubrics: index it from a parent rubric's forward()"
        )

    def append(self, rubric: Rubric) -> None:
        """Add a rubric at the end (registered as `rubric_<index>`)."""
        index = len(self._rubrics)
        setattr(self, f"rubric_{index}", _check_child(rubric, f"RubricList item {index}"))
        self._rubrics.append(rubric)

    def extend(self, rubrics: list[Rubric]) -> None:
        """Add several rubrics at the end."""
        for rubric in rubrics:
            self.append(rubric)

    def __len__(self) -> int:
        return len(self._rubrics)

    def __getitem__(self, index: int) -> Rubric:
        return self._rubrics[index]

    def __iter__(self) -> Iterator[Rubric]:
        return iter(self._rubrics)


class RubricDict(Rubric):
    """Child rubrics by name for a parent's `forward`; computes nothing itself.

    A key is also an attribute (`rubrics.pong`), as in 0.10, unless it would hide one of the
    class's own attributes (`keys`, `reset`, …): such a key is reachable by index only.
    """

    def __init__(self, rubrics: dict[str, Rubric] | None = None):
        super().__init__()
        self._rubric_dict: dict[str, Rubric] = {}
        if rubrics is not None:
            self.update(rubrics)

    def forward(self, action: Any, observation: Any) -> float:
        raise NotImplementedError(
            "a RubricDict does not aggregate its rubrics: look one up from a parent rubric's forward()"
        )

    def __setitem__(self, key: str, rubric: Rubric) -> None:
        if not isinstance(key, str):
            raise TypeError(f"RubricDict keys are strings, got {type(key).__name__}")
        _check_child(rubric, f"RubricDict[{key!r}]")
        if hasattr(type(self), key) or key.startswith("_"):
            if isinstance(rubric, Rubric):
                self._rubric_children[key] = rubric
        else:
            setattr(self, key, rubric)
        self._rubric_dict[key] = rubric

    def __getitem__(self, key: str) -> Rubric:
        return self._rubric_dict[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rubric_dict

    def __len__(self) -> int:
        return len(self._rubric_dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rubric_dict)

    def keys(self) -> Iterator[str]:
        return iter(self._rubric_dict.keys())

    def values(self) -> Iterator[Rubric]:
        return iter(self._rubric_dict.values())

    def items(self) -> Iterator[tuple[str, Rubric]]:
        return iter(self._rubric_dict.items())

    def update(self, rubrics: dict[str, Rubric] | Mapping[str, Rubric]) -> None:
        """Add (or replace) rubrics by key."""
        for key, rubric in rubrics.items():
            self[key] = rubric
