"""Trajectory rubrics: what ours adds to 0.10's (the bound); the rest is compared with 0.10 in
`test_containers.py`."""

from __future__ import annotations

from typing import Any

import pytest
from openenv.core.rubrics import ExponentialDiscountingTrajectoryRubric


class Last(ExponentialDiscountingTrajectoryRubric):
    max_trajectory_steps = 3

    def score_trajectory(self, trajectory: list[tuple[Any, Any]]) -> float:
        return 1.0


class Step:
    def __init__(self, done: bool = False) -> None:
        self.done = done


def test_the_record_is_bounded_and_reset_starts_a_new_one() -> None:
    rubric = Last(gamma=0.5)
    assert [rubric(None, Step()) for _ in range(3)] == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match=r"holds 3 steps.*call reset\(\)"):
        rubric(None, Step(done=True))
    assert len(rubric.trajectory) == 3
    rubric.reset()
    assert rubric(None, Step(done=True)) == 1.0
    assert rubric.compute_step_rewards() == [1.0]


def test_gamma_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="gamma must be between 0 and 1, got 2"):
        Last(gamma=2)
