"""The python_exec_env Environment layer over the real SDK types."""

from __future__ import annotations

import pytest

pytest.importorskip("openenv.server")

from openenv.server import EnvironmentFault
from pydantic import ValidationError
from python_exec_env.environment import PythonExecEnvironment, RunCodeAction


def test_episode_through_the_environment() -> None:
    env = PythonExecEnvironment(max_steps=2)
    with pytest.raises(EnvironmentFault, match="reset"):
        env.step(RunCodeAction(code="pass"))
    first = env.reset(episode_id="ep-1")
    assert set(first.metadata["isolation"]) >= {"network", "filesystem", "processes"}
    ok = env.step(RunCodeAction(code="open('out.txt', 'w').write('x')\nprint('hi')"))
    assert (ok.stdout, ok.exit_code, ok.reward, ok.files_changed) == ("hi\n", 0, 1.0, ["out.txt"])
    assert not ok.done
    last = env.step(RunCodeAction(code="import sys\nsys.exit(3)"))
    assert (last.exit_code, last.reward, last.truncated, last.terminated) == (3, -0.5, True, False)
    state = env.state()
    assert (state.episode_id, state.step_count) == ("ep-1", 2)
    with pytest.raises(EnvironmentFault, match="over"):
        env.step(RunCodeAction(code="pass"))
    env.close()


@pytest.mark.parametrize("timeout", [0, 61, float("inf")])
def test_action_bounds(timeout: float) -> None:
    with pytest.raises(ValidationError):
        RunCodeAction(code="pass", timeout_seconds=timeout)
    with pytest.raises(ValidationError):
        RunCodeAction.model_validate({"code": "pass", "shell": True})
