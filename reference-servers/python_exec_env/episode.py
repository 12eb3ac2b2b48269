"""Episode rules of the python_exec_env, independent of any server framework.

One `Episode` wraps one `Sandbox`. `Episode.step` runs a snippet and scores it with the seed
article's rewards: +1.0 when the snippet exits 0, -1.0 when it hits its timeout, -0.5 for any other
failure (non-zero exit, killed by a limit). The episode is truncated (never terminated: there is no
goal state) when the step count reaches ``max_steps`` (20 by default).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .sandbox import RunResult, Sandbox, SandboxLimits

REWARD_SUCCESS = 1.0
REWARD_ERROR = -0.5
REWARD_TIMEOUT = -1.0
DEFAULT_MAX_STEPS = 20
TIMEOUT_MESSAGE = "TimeoutError: execution exceeded {:g} s and was killed\n"


def reward_for(result: RunResult) -> float:
    """The article's reward for one run."""
    if result.timed_out:
        return REWARD_TIMEOUT
    return REWARD_SUCCESS if result.exit_code == 0 else REWARD_ERROR


@dataclass(frozen=True)
class StepOutcome:
    result: RunResult
    reward: float
    step_count: int
    truncated: bool


class Episode:
    """Step bookkeeping for one sandboxed episode; `close` removes its directory."""

    def __init__(self, limits: SandboxLimits | None = None, max_steps: int = DEFAULT_MAX_STEPS):
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        self.sandbox = Sandbox(limits)
        self.max_steps = max_steps
        self.step_count = 0

    @property
    def finished(self) -> bool:
        return self.step_count >= self.max_steps

    def step(self, code: str, timeout_s: float) -> StepOutcome:
        if self.finished:
            raise RuntimeError(f"episode is over after {self.max_steps} steps; reset first")
        result = self.sandbox.run(code, timeout_s)
        if result.timed_out:
            stderr = result.stderr + TIMEOUT_MESSAGE.format(timeout_s)
            result = replace(result, stderr=stderr)
        self.step_count += 1
        return StepOutcome(result, reward_for(result), self.step_count, self.finished)

    def close(self) -> None:
        self.sandbox.close()
