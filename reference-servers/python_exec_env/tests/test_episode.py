"""Rewards and truncation of the python_exec_env episode (real sandbox runs)."""

from __future__ import annotations

import pytest
from python_exec_env.episode import (
    REWARD_ERROR,
    REWARD_SUCCESS,
    REWARD_TIMEOUT,
    Episode,
)


def test_rewards_follow_the_article() -> None:
    episode = Episode(max_steps=5)
    try:
        assert episode.step("print(1)", 5).reward == REWARD_SUCCESS
        assert episode.step("1/0", 5).reward == REWARD_ERROR
        timed = episode.step("import time\ntime.sleep(5)", 0.3)
        assert timed.reward == REWARD_TIMEOUT
        assert timed.result.exit_code == -1
        assert "TimeoutError" in timed.result.stderr
    finally:
        episode.close()


def test_truncated_exactly_at_max_steps_then_refuses() -> None:
    episode = Episode(max_steps=2)
    try:
        first = episode.step("pass", 5)
        assert (first.step_count, first.truncated) == (1, False)
        second = episode.step("pass", 5)
        assert (second.step_count, second.truncated) == (2, True)
        with pytest.raises(RuntimeError, match="reset first"):
            episode.step("pass", 5)
    finally:
        episode.close()
    assert not episode.sandbox.workdir.exists()


def test_max_steps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        Episode(max_steps=0)
