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


def test_hidden_answer_grades_and_stays_out_of_reach() -> None:
    episode = Episode(expected_stdout="42\n")
    try:
        assert episode.step("print(42)", 5).reward == 1.0
        assert episode.step("print(41)", 5).reward == -0.5
        answer = episode.sandbox.grader_dir / "expected_stdout"
        probe = episode.step(f"print(open({str(answer)!r}).read())", 5)
        assert probe.reward == -0.5 and "42" not in probe.result.stdout
        assert probe.result.exit_code == 1  # not there (minimal root) or not readable (uid)
    finally:
        episode.close()
