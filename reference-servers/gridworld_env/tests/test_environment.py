"""The gridworld_env Environment layer over the real SDK types."""

from __future__ import annotations

import pytest

pytest.importorskip("openenv.server")

from gridworld_env.environment import GridWorldEnvironment, MoveAction
from openenv.server import EnvironmentFault
from pydantic import ValidationError


def test_seeded_reset_and_replay_are_byte_identical() -> None:
    plays = []
    for _ in range(2):
        env = GridWorldEnvironment()
        frames = [env.reset(seed=42).model_dump_json()]
        for d in ["east", "south", "south"]:
            frames.append(env.step(MoveAction.model_validate({"direction": d})).model_dump_json())
        plays.append(frames)
    assert plays[0] == plays[1]
    assert '"terminated":true' in plays[0][-1] and '"event":"goal"' in plays[0][-1]


def test_errors_and_state() -> None:
    env = GridWorldEnvironment()
    with pytest.raises(EnvironmentFault, match="reset"):
        env.step(MoveAction(direction="north"))
    with pytest.raises(EnvironmentFault, match="seed"):
        env.reset(seed=-5)
    with pytest.raises(EnvironmentFault, match="width"):
        env.reset(seed=1, width=2)
    obs = env.reset(seed=9, max_steps=1)
    assert obs.metadata["seed"] == 9 and obs.reward is None
    step = env.step(MoveAction(direction="north"))
    assert step.done and (step.terminated or step.truncated)
    with pytest.raises(EnvironmentFault, match="ended"):
        env.step(MoveAction(direction="north"))
    assert env.state().model_dump()["seed"] == 9
    with pytest.raises(ValidationError):
        MoveAction.model_validate({"direction": "up"})
