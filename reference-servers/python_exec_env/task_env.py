"""python_exec_env with a taskset: "write code that passes a hidden test suite" (RFCs 0004, 0006).

`PythonTaskEnvironment` extends `PythonExecEnvironment` (same sandbox, same `RunCodeAction`):

* `taskset` is `tasks.jsonl` beside this file (loaded with `openenv.tasks.load_taskset`), so the
  server serves the Task API; `reset(task_id=…, split=…, seed=…)` starts an episode on the named
  task, or on one drawn from the split by the seed. The observation's `stdout` is the task's prompt;
  `metadata` names the task. Its hidden test suite (`success.tests`: pairs of a call and the value
  it must return) never leaves the server.
* Each step runs the submitted code in the sandbox, then the hidden tests against the functions it
  defined (`scoring.run_hidden_tests`). The episode ends when every test passes (`terminated`) or
  after the task's `max_attempts` (`truncated`). Steps before the end carry reward 0.0 with
  `reward_info.pending`; the last one carries the **trajectory score** (`source:
  "trajectory_scorer"`, `scorer: "hidden_tests"`) with components `tests_passed` (the best pass
  rate over the episode, weight 1) and `extra_attempts` (attempts after the first, weight -0.1).
* `state` adds `task_id`. The episode's trajectory (one entry per attempt: the submitted action,
  the observation, the reward) is recorded by the server runtime (`trajectory_max_steps`), which
  returns it as the `trajectory` member of `state` and declares it in `/metadata`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from openenv.rewards import RewardComponent, reward_info
from openenv.server import EnvironmentFault
from openenv.tasks import Task, Taskset, TasksetError, load_taskset

from .environment import PyExecObservation, PyExecState, PythonExecEnvironment, RunCodeAction
from .scoring import SCORER_NAME, HiddenTestResult, run_hidden_tests

TASKS_FILE = Path(__file__).with_name("tasks.jsonl")
EXTRA_ATTEMPT_WEIGHT = -0.1
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS_RECORDED = 20
"""The bound of the runtime's trajectory record (a task allows fewer attempts)."""


class PyTaskState(PyExecState):
    """The base state, plus the task."""

    task_id: str | None = None


class PythonTaskEnvironment(PythonExecEnvironment):
    """Code tasks scored by a hidden test suite at the end of the episode."""

    taskset: ClassVar[Taskset] = load_taskset(TASKS_FILE, name="python_tasks")
    trajectory_max_steps = MAX_ATTEMPTS_RECORDED
    state_type = PyTaskState

    def __init__(self) -> None:
        super().__init__()
        self._task: Task | None = None
        self._attempts = 0
        self._best: HiddenTestResult | None = None

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        expected_stdout: str | None = None,
        task_id: str | None = None,
        split: str | None = None,
        **kwargs: Any,
    ) -> PyExecObservation:
        try:
            task = self.taskset.pick(task_id, split, seed)
        except TasksetError as exc:
            raise EnvironmentFault(str(exc)) from exc
        observation = super().reset(seed=seed, episode_id=episode_id)
        self._task, self._attempts, self._best = task, 0, None
        return PyExecObservation(
            stdout=task.prompt,
            metadata={**observation.metadata, "task_id": task.id, "split": task.split},
        )

    def step(self, action: RunCodeAction) -> PyExecObservation:
        task = self._task
        if task is None or self._episode is None:
            raise EnvironmentFault("no episode: call reset before step")
        limit = int(task.initial_state.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        if self._attempts >= limit or (self._best is not None and self._best.all_passed):
            raise EnvironmentFault("the episode is over: call reset")
        result = run_hidden_tests(self._episode.sandbox, action.code, task.success.get("tests", []))
        self._attempts += 1
        if self._best is None or result.pass_rate > self._best.pass_rate:
            self._best = result
        best = self._best
        terminated = best.all_passed
        truncated = not terminated and self._attempts >= limit
        if terminated or truncated:
            reward, info = reward_info(
                [
                    RewardComponent("tests_passed", best.pass_rate, 1.0),
                    RewardComponent("extra_attempts", float(self._attempts - 1), EXTRA_ATTEMPT_WEIGHT),
                ],
                source="trajectory_scorer",
                scorer=SCORER_NAME,
            )
        else:
            reward, info = reward_info(pending=True)
        return PyExecObservation(
            stdout=result.run.stdout,
            stderr=result.run.stderr,
            exit_code=result.run.exit_code,
            execution_time_ms=round(result.run.execution_time_ms, 3),
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            done=terminated or truncated,
            metadata={
                "task_id": task.id,
                "attempt": self._attempts,
                "tests_passed": result.passed,
                "tests_total": result.total,
                "reward_info": info,
            },
        )

    def state(self) -> PyTaskState:
        base = super().state()
        return PyTaskState(**base.model_dump(), task_id=self._task.id if self._task else None)
