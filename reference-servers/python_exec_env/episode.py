"""Episode rules of the python_exec_env, independent of any server framework.

One `Episode` wraps one `Sandbox`. `Episode.step` runs a snippet and scores it with the seed
article's rewards: +1.0 when the snippet exits 0, -1.0 when it hits its timeout, -0.5 for any other
failure (non-zero exit, killed by a limit). The episode is truncated (never terminated: there is no
goal state) when the step count reaches ``max_steps`` (20 by default).

With ``expected_stdout`` the episode is graded against a hidden answer: it is kept in the
sandbox's ``grader/`` directory (outside everything the code can see) and read back at each step;
a run that exits 0 scores +1.0 only when its stdout equals it, else -0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .sandbox import RunResult, Sandbox, SandboxLimits

REWARD_SUCCESS = 1.0
REWARD_ERROR = -0.5
REWARD_TIMEOUT = -1.0
DEFAULT_MAX_STEPS = 20
TIMEOUT_MESSAGE = "TimeoutError: execution exceeded {:g} s and was killed\n"


EXPECTED_STDOUT_FILE = "expected_stdout"
MAX_EXPECTED_STDOUT = 1_000_000


def reward_for(result: RunResult, expected_stdout: str | None = None) -> float:
    """The article's reward for one run (graded against ``expected_stdout`` when given)."""
    if result.timed_out:
        return REWARD_TIMEOUT
    if result.exit_code != 0:
        return REWARD_ERROR
    if expected_stdout is not None and result.stdout != expected_stdout:
        return REWARD_ERROR
    return REWARD_SUCCESS


@dataclass(frozen=True)
class StepOutcome:
    result: RunResult
    reward: float
    step_count: int
    truncated: bool


class Episode:
    """Step bookkeeping for one sandboxed episode; `close` removes its directory."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        expected_stdout: str | None = None,
    ):
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        if expected_stdout is not None and len(expected_stdout) > MAX_EXPECTED_STDOUT:
            raise ValueError(f"expected_stdout is longer than {MAX_EXPECTED_STDOUT} characters")
        self.sandbox = Sandbox(limits)
        self._graded = expected_stdout is not None
        if expected_stdout is not None:
            answer = self.sandbox.grader_dir / EXPECTED_STDOUT_FILE
            answer.touch(mode=0o644 if "workdir-mode" in self.sandbox.weaken else 0o600)
            answer.write_text(expected_stdout, encoding="utf-8")
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
        return StepOutcome(result, reward_for(result, self._expected()), self.step_count, self.finished)

    def _expected(self) -> str | None:
        if not self._graded:
            return None
        return (self.sandbox.grader_dir / EXPECTED_STDOUT_FILE).read_text(encoding="utf-8")

    def close(self) -> None:
        self.sandbox.close()
