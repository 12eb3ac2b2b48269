"""A rubric's last evaluation as our reward model's `reward_info` (spec/rewards.md, RFC 0004).

0.10 environments set `observation.reward = self._apply_rubric(action, observation)` and nothing
else; that stays as it is. An environment that also wants to explain the number to trainers calls
`rubric_reward_info(self.rubric)` after evaluating it and puts the entry in the observation's
metadata:

    reward, info = rubric_reward_info(self.rubric)
    observation.reward, observation.metadata["reward_info"] = reward, info

What the entry says, by rubric:

* `WeightedSum`: one component per child (`value` its last score, `weight` its weight), named by
  the child's class, or by its attribute name (`rubric_<i>`) when siblings share a class; the
  reward is Σ weight × value (OE-RWD-002).
* `TrajectoryRubric`: once its last recorded observation is done, `source` `trajectory_scorer`
  with the scorer's name (`scorer=` or the class name) and the episode's score as its one
  component (OE-RWD-004); before that, a pending step when `intermediate_reward` is 0.0
  (OE-RWD-003), else a step reward of `intermediate_reward`.
* any other rubric: one component, its last score with weight 1.

`ValueError` when the rubric (or a `WeightedSum` child) has not been evaluated, or a score is not a
finite number.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from openenv.core.rubrics.base import Rubric
from openenv.core.rubrics.containers import WeightedSum
from openenv.core.rubrics.trajectory import TrajectoryRubric
from openenv.rewards import RewardComponent, reward_info

__all__ = ["rubric_reward_info"]


def _score(rubric: Rubric, what: str) -> Any:
    if rubric.last_score is None:
        raise ValueError(f"{what} has not been evaluated yet (call the rubric first)")
    return rubric.last_score


def rubric_reward_info(rubric: Rubric, *, scorer: str | None = None) -> tuple[float, dict[str, Any]]:
    """`(reward, metadata["reward_info"])` for `rubric`'s last evaluation (see the module docstring)."""
    name = scorer or type(rubric).__name__
    if isinstance(rubric, TrajectoryRubric):
        record = rubric.trajectory
        if not record:
            raise ValueError(f"{name} has not been evaluated yet (call the rubric first)")
        if getattr(record[-1][1], "done", False):
            component = RewardComponent(name, _score(rubric, name))
            return reward_info([component], source="trajectory_scorer", scorer=name)
        if rubric.intermediate_reward == 0.0:
            return reward_info(pending=True)
        return reward_info([RewardComponent("intermediate_reward", rubric.intermediate_reward)])
    if isinstance(rubric, WeightedSum):
        weights = rubric.weights
        children: list[tuple[str, Rubric]] = []
        for index in range(len(weights)):
            attribute, child = f"rubric_{index}", getattr(rubric, f"rubric_{index}")
            if not isinstance(child, Rubric):
                raise ValueError(f"{name}.{attribute} is not a Rubric: its score is not recorded")
            children.append((attribute, child))
        counts = Counter(type(child).__name__ for _, child in children)
        components = [
            RewardComponent(
                type(child).__name__ if counts[type(child).__name__] == 1 else attribute,
                _score(child, f"{name}.{attribute}"),
                weight,
            )
            for (attribute, child), weight in zip(children, weights, strict=True)
        ]
        return reward_info(components)
    return reward_info([RewardComponent(name, _score(rubric, name))])
