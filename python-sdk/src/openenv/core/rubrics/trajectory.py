"""0.10's trajectory rubrics: an episode scored at its end, credit spread over its steps.

`TrajectoryRubric` records every `(action, observation)` it is called with and returns
`intermediate_reward` until an observation has `done` true, then `score_trajectory(trajectory)`.
Subclasses define `score_trajectory` and `compute_step_rewards` (the per-step credit);
`ExponentialDiscountingTrajectoryRubric` defines the latter as `gamma ** (T - 1 - t) × score` for
step `t` of `T`. `reset()` (an environment calls it from its `reset`) starts a new record;
`state_dict` holds the configuration, never the record.

The record is bounded: more than `max_trajectory_steps` steps without a `reset()` (usually a
forgotten `reset`) raise `RuntimeError` instead of growing memory without end (0.10 has no bound).
To report the end-of-episode score in our reward model (`metadata["reward_info"]` with source
`trajectory_scorer`), see `openenv.core.rubrics.rubric_reward_info`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from openenv.core.rubrics.base import Rubric

__all__ = ["ExponentialDiscountingTrajectoryRubric", "TrajectoryRubric"]


class TrajectoryRubric(Rubric):
    """Scores a whole episode when it ends (see the module docstring)."""

    max_trajectory_steps: int = 100_000
    """The most steps one record holds (a class attribute; override it in a subclass)."""

    _trajectory: list[tuple[Any, Any]]
    intermediate_reward: float

    def __init__(self, intermediate_reward: float = 0.0):
        super().__init__()
        self.intermediate_reward = intermediate_reward
        self._trajectory = []

    def forward(self, action: Any, observation: Any) -> float:
        if len(self._trajectory) >= self.max_trajectory_steps:
            raise RuntimeError(
                f"{type(self).__name__} holds {len(self._trajectory)} steps, its bound "
                "(max_trajectory_steps): call reset() at the start of each episode"
            )
        self._trajectory.append((action, observation))
        if getattr(observation, "done", False):
            return self.score_trajectory(self._trajectory)
        return self.intermediate_reward

    @abstractmethod
    def score_trajectory(self, trajectory: list[tuple[Any, Any]]) -> float:
        """The episode's score from its `(action, observation)` pairs (called when it is done)."""

    @abstractmethod
    def compute_step_rewards(self) -> list[float]:
        """One reward per recorded step: the subclass's credit assignment."""

    def reset(self) -> None:
        """Forget the record (a new episode starts)."""
        self._trajectory = []

    @property
    def trajectory(self) -> list[tuple[Any, Any]]:
        """A copy of the record, oldest step first."""
        return list(self._trajectory)

    def state_dict(self) -> dict[str, Any]:
        return {"intermediate_reward": self.intermediate_reward}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "intermediate_reward" in state:
            self.intermediate_reward = state["intermediate_reward"]


class ExponentialDiscountingTrajectoryRubric(TrajectoryRubric):
    """Step `t` of `T` earns `gamma ** (T - 1 - t)` times the episode's score."""

    gamma: float

    def __init__(self, gamma: float = 0.99, intermediate_reward: float = 0.0):
        super().__init__(intermediate_reward=intermediate_reward)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be between 0 and 1, got {gamma}")
        self.gamma = gamma

    def compute_step_rewards(self) -> list[float]:
        """The discounted rewards, one per step (empty before any step)."""
        if not self._trajectory:
            return []
        score = self.score_trajectory(self._trajectory)
        steps = len(self._trajectory)
        return [score * self.gamma ** (steps - 1 - t) for t in range(steps)]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "gamma": self.gamma}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "gamma" in state:
            self.gamma = state["gamma"]
