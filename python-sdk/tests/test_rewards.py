"""`openenv.rewards`: components and their weighted sum, pending and trajectory rewards, parsing
back what a server sent, and the bounded trajectory recorder."""

from __future__ import annotations

import math

import pytest
from openenv.rewards import RewardComponent, parse_reward_info, reward_info


def test_components_sum_to_the_reward_and_round_trip() -> None:
    parts = [RewardComponent("tests", 0.75, 1.0), RewardComponent("style", 0.5, 0.2)]
    reward, info = reward_info(parts, source="trajectory_scorer", scorer="hidden_tests")
    assert reward == pytest.approx(0.85)
    parsed = parse_reward_info({"reward_info": info})
    assert parsed is not None and parsed.components == tuple(parts) and parsed.scorer == "hidden_tests"
    pending, info = reward_info(pending=True)
    assert pending == 0.0 and info == {"source": "step", "pending": True, "components": []}


@pytest.mark.parametrize(
    "bad",
    [
        lambda: RewardComponent("", 1.0),
        lambda: RewardComponent("x", math.nan),
        lambda: RewardComponent("x", 1.0, math.inf),
        lambda: reward_info([RewardComponent("a", 1)], pending=True),
        lambda: reward_info(source="trajectory_scorer"),
        lambda: reward_info([RewardComponent("a", 1), RewardComponent("a", 2)]),
        lambda: reward_info(source="judge"),  # type: ignore[arg-type]
    ],
)
def test_inconsistent_rewards_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {},
        {"reward_info": 1},
        {"reward_info": {"source": "x"}},
        {"reward_info": {"source": "step", "components": [{}]}},
    ],
)
def test_malformed_reward_info_reads_as_none(metadata: object) -> None:
    assert parse_reward_info(metadata) is None  # type: ignore[arg-type]
