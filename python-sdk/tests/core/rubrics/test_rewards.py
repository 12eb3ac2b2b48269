"""`rubric_reward_info`: a rubric's last evaluation in our reward model (spec/rewards.md)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openenv.core.rubrics import (
    ExponentialDiscountingTrajectoryRubric,
    Gate,
    Rubric,
    WeightedSum,
    rubric_reward_info,
)
from openenv.rewards import parse_reward_info

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[4] / "schemas" / "RewardInfo.schema.json").read_text(encoding="utf-8")
)


class Passing(Rubric):
    def forward(self, action: Any, observation: Any) -> float:
        return 0.8


class Style(Rubric):
    async def forward(self, action: Any, observation: Any) -> float:
        return 0.3


class Outcome(ExponentialDiscountingTrajectoryRubric):
    def score_trajectory(self, trajectory: list[tuple[Any, Any]]) -> float:
        return 0.9


class Step:
    def __init__(self, done: bool) -> None:
        self.done = done


def _valid(info: dict[str, Any]) -> None:
    jsonschema.validate(info, SCHEMA)
    assert parse_reward_info({"reward_info": info}) is not None


def test_a_weighted_sum_reports_its_children_as_components() -> None:
    rubric = WeightedSum([Passing(), Style()], [0.7, 0.3])
    score = asyncio.run(rubric(None, None))
    reward, info = rubric_reward_info(rubric)
    _valid(info)
    assert info["source"] == "step" and not info["pending"]
    assert info["components"] == [
        {"name": "Passing", "value": 0.8, "weight": 0.7},
        {"name": "Style", "value": 0.3, "weight": 0.3},
    ]
    assert math.isclose(reward, score, rel_tol=1e-9)  # OE-RWD-002 holds for the rubric's own score


def test_siblings_of_one_class_are_named_by_attribute() -> None:
    rubric = WeightedSum([Passing(), Passing()], [0.5, 0.5])
    rubric(None, None)
    assert [c["name"] for c in rubric_reward_info(rubric)[1]["components"]] == ["rubric_0", "rubric_1"]


def test_a_trajectory_rubric_is_pending_then_a_trajectory_scorer() -> None:
    rubric = Outcome(gamma=0.5)
    assert rubric(None, Step(done=False)) == 0.0
    reward, info = rubric_reward_info(rubric)
    _valid(info)
    assert (reward, info["pending"], info["components"]) == (0.0, True, [])
    assert rubric(None, Step(done=True)) == 0.9
    reward, info = rubric_reward_info(rubric, scorer="hidden_tests")
    _valid(info)
    assert reward == 0.9
    assert (info["source"], info["scorer"], info["pending"]) == ("trajectory_scorer", "hidden_tests", False)


def test_a_non_zero_intermediate_reward_is_a_step_reward() -> None:
    rubric = Outcome(intermediate_reward=0.1)
    rubric(None, Step(done=False))
    reward, info = rubric_reward_info(rubric)
    assert (reward, info["source"], info["pending"]) == (0.1, "step", False)


def test_any_other_rubric_is_one_component() -> None:
    rubric = Gate(Passing(), threshold=0.5)
    rubric(None, None)
    assert rubric_reward_info(rubric) == (
        0.8,
        {"source": "step", "pending": False, "components": [{"name": "Gate", "value": 0.8, "weight": 1.0}]},
    )


def test_an_unevaluated_rubric_is_an_error() -> None:
    with pytest.raises(ValueError, match="Gate has not been evaluated"):
        rubric_reward_info(Gate(Passing()))
    with pytest.raises(ValueError, match="Outcome has not been evaluated"):
        rubric_reward_info(Outcome())
    rubric = WeightedSum([Passing(), Style()], [0.5, 0.5])
    rubric.rubric_0(None, None)
    with pytest.raises(ValueError, match=r"WeightedSum.rubric_1 has not been evaluated"):
        rubric_reward_info(rubric)


def test_a_plain_function_child_or_a_bad_score_is_an_error() -> None:
    rubric = WeightedSum([Passing(), lambda a, o: 1.0], [0.5, 0.5])
    rubric(None, None)
    with pytest.raises(ValueError, match="rubric_1 is not a Rubric"):
        rubric_reward_info(rubric)

    class Nan(Rubric):
        def forward(self, action: Any, observation: Any) -> float:
            return math.nan

    nan = Nan()
    nan(None, None)
    with pytest.raises(ValueError, match="must be a finite number"):
        rubric_reward_info(nan)
