"""`EverythingEnvironment`: a tiny seeded counter game that uses every optional protocol feature.

Contract:

* `TASKSET` (the class's `taskset`, RFC 0006): the tasks of `TASKS`, as listed in `openenv.yaml`,
  with stable ids — `reach-small` (train, target 1..10), `reach-scored` (train, 1..10, scored only
  at the end) and `reach-large` (test, 11..50). The server serves the Task API for them.
* `reset(seed=None, episode_id=None, task_id=None, split=None, task=None, max_steps=10,
  step_delay_s=0.0)`: `task_id` (or its older name `task`) names the task; without one the seed
  draws it from `split` (or from all tasks) with `Taskset.pick`, so the same seed gives the same
  task and the same target (with no seed one is drawn and reported). An unknown task, or one outside
  `split`, is a `VALIDATION_ERROR` naming `task_id`; other options are validated too. The reset
  observation is `EverythingResetObservation` (a different model from the step one); its
  `metadata` names `task_id`, `split` and `seed`.
* `step(EverythingAction)`: `op` (`add` | `sub` | `stop`, required), `amount` (integer 0..10,
  required, strict: `"3"` is rejected), `note` (optional, at most 64 characters). The counter
  moves by `amount`; reward -0.1 per move, +1.0 on hitting the target (`terminated`); `stop`
  ends the episode (`terminated`, reward minus the distance / 10); `max_steps` moves without
  either → `truncated`. A step before reset or after the end is an `EnvironmentFault`. Every
  observation explains its reward in `metadata.reward_info` (RFC 0004): one component per step
  (`move`, `hit` or `distance`); in `reach-scored` the steps are `pending` (reward 0.0) and the last
  one carries the trajectory scorer `reach_scorer`'s score (`reached` minus a tenth of the final
  `distance`).
* The runtime records each episode's newest `TRAJECTORY_MAX_STEPS` steps and returns them with the
  state (`trajectory_max_steps`, small so that a default episode overflows it).
* Every step first sleeps `step_delay_s` (0..`MAX_STEP_DELAY_S`) chosen at reset: with a delay
  beyond the server's step timeout a step times out (`STEP_TIMEOUT`), bounded either way.
* MCP tools (served as JSON-RPC: `mcp` frames on `/ws`, `POST /mcp`; they are not steps):
  `describe_task(task)` and `peek()` (this session's counter, target and steps).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from typing import Annotated, Any, Literal

import pydantic
from openenv import Action, Observation, State
from openenv.rewards import RewardComponent, reward_info
from openenv.server import Environment, EnvironmentFault, InvalidRequest, tool
from openenv.tasks import Task, Taskset, TasksetError
from pydantic import Field

MAX_STEP_DELAY_S = 10.0
MAX_SEED = 2**53 - 1
TRAJECTORY_MAX_STEPS = 4
SCORER = "reach_scorer"
TaskName = Literal["reach-small", "reach-scored", "reach-large"]
Event = Literal["moved", "hit", "stopped", "out_of_steps"]
TASKS: dict[str, dict[str, Any]] = {
    "reach-small": {
        "split": "train",
        "low": 1,
        "high": 10,
        "description": "Reach a target in 1..10.",
    },
    "reach-scored": {
        "split": "train",
        "low": 1,
        "high": 10,
        "description": "Reach a target in 1..10; scored once, at the end of the episode.",
    },
    "reach-large": {
        "split": "test",
        "low": 11,
        "high": 50,
        "description": "Reach a target in 11..50.",
    },
}
TASKSET = Taskset(
    (
        Task(
            name,
            spec["split"],
            prompt=spec["description"],
            initial_state={"low": spec["low"], "high": spec["high"], "scored_at_end": name == "reach-scored"},
        )
        for name, spec in TASKS.items()
    ),
    name="everything",
)


class EverythingAction(Action):
    """Move the counter (`add`/`sub` by `amount`) or `stop` the episode."""

    op: Literal["add", "sub", "stop"] = Field(description="What to do.")
    amount: int = Field(ge=0, le=10, strict=True, description="How far to move (0..10).")
    note: str | None = Field(default=None, max_length=64, description="Free text, echoed back.")


class EverythingObservation(Observation):
    """The counter after a step."""

    value: int
    target: int
    steps_left: int
    event: Event
    note: str | None = None


class EverythingResetObservation(Observation):
    """The start of an episode: the task, its target and the episode's options."""

    value: int
    target: int
    task: TaskName
    split: str
    max_steps: int
    step_delay_s: float


class EverythingState(State):
    """Episode state, with the seed that replays it."""

    seed: int | None = None
    task: TaskName | None = None
    value: int = 0
    target: int | None = None
    total_reward: float = 0.0


class ResetOptions(pydantic.BaseModel):
    """The environment-specific reset parameters."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    task: TaskName | None = None
    task_id: str | None = Field(default=None, min_length=1, max_length=256)
    split: str | None = Field(default=None, min_length=1, max_length=256)
    max_steps: int = Field(default=10, ge=1, le=100)
    step_delay_s: float = Field(default=0.0, ge=0.0, le=MAX_STEP_DELAY_S)


class EverythingEnvironment(Environment[EverythingAction, EverythingObservation, EverythingState]):
    """Seeded counter game: reach the target with add/sub moves; every optional feature in use."""

    action_type = EverythingAction  # typed steps; the @tool methods are served as JSON-RPC
    observation_type = EverythingObservation
    reset_observation_type = EverythingResetObservation
    state_type = EverythingState
    taskset = TASKSET
    trajectory_max_steps = TRAJECTORY_MAX_STEPS

    def __init__(self) -> None:
        self.episode_id: str | None = None
        self.step_count = 0
        self.options = ResetOptions()
        self.task: Task = TASKSET.get("reach-small")
        self.seed: int | None = None
        self.value = 0
        self.target: int | None = None
        self.total_reward = 0.0
        self.done = False

    async def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task_id: Any = None,
        split: Any = None,
        task: Any = None,
        max_steps: Any = 10,
        step_delay_s: Any = 0.0,
    ) -> EverythingResetObservation:
        try:
            options = ResetOptions(
                task=task, task_id=task_id, split=split, max_steps=max_steps, step_delay_s=step_delay_s
            )
        except pydantic.ValidationError as exc:
            raise InvalidRequest.from_pydantic(exc, "Invalid reset parameters") from None
        if options.task is not None and options.task_id not in (None, options.task):
            raise InvalidRequest("Invalid reset parameters", [_issue("task", "task and task_id name different tasks")])
        seed = secrets.randbelow(MAX_SEED + 1) if seed is None else seed
        try:
            picked = TASKSET.pick(options.task_id or options.task, options.split, seed)
        except TasksetError as exc:
            raise InvalidRequest("Invalid reset parameters", [_issue("task_id", str(exc))]) from None
        self.options, self.seed, self.task = options, seed, picked
        spec = TASKS[picked.id]
        self.target = random.Random(self.seed).randint(spec["low"], spec["high"])
        self.episode_id = episode_id or str(uuid.uuid4())
        self.step_count, self.value, self.total_reward, self.done = 0, 0, 0.0, False
        return EverythingResetObservation(
            value=0,
            target=self.target,
            task=picked.id,  # type: ignore[arg-type]  # the taskset's ids are the TaskName values
            split=picked.split,
            max_steps=options.max_steps,
            step_delay_s=options.step_delay_s,
            metadata={"seed": self.seed, "task_id": picked.id, "split": picked.split},
        )

    async def step(self, action: EverythingAction) -> EverythingObservation:
        if self.target is None:
            raise EnvironmentFault("no episode: call reset before step")
        if self.done:
            raise EnvironmentFault("the episode has ended: call reset")
        if self.options.step_delay_s:
            await asyncio.sleep(self.options.step_delay_s)
        self.step_count += 1
        terminated = truncated = False
        event: Event
        if action.op == "stop":
            part, event, terminated = RewardComponent("distance", abs(self.target - self.value), -0.1), "stopped", True
        else:
            self.value += action.amount if action.op == "add" else -action.amount
            if self.value == self.target:
                part, event, terminated = RewardComponent("hit", 1.0, 1.0), "hit", True
            else:
                part, event = RewardComponent("move", 1.0, -0.1), "moved"
                if self.step_count >= self.options.max_steps:
                    event, truncated = "out_of_steps", True
        self.done = terminated or truncated
        if not self.task.initial_state.get("scored_at_end"):
            reward, info = reward_info([part])
        elif self.done:  # the trajectory's score, on its last observation (OE-RWD-004)
            parts = [
                RewardComponent("reached", float(self.value == self.target), 1.0),
                RewardComponent("distance", abs(self.target - self.value), -0.1),
            ]
            reward, info = reward_info(parts, source="trajectory_scorer", scorer=SCORER)
        else:
            reward, info = reward_info(pending=True)
        reward = round(reward, 6)  # within 1e-9 of the components' sum (OE-RWD-002)
        self.total_reward = round(self.total_reward + reward, 6)
        return EverythingObservation(
            value=self.value,
            target=self.target,
            steps_left=self.options.max_steps - self.step_count,
            event=event,
            note=action.note,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            metadata={"seed": self.seed, "reward_info": info},
        )

    async def state(self) -> EverythingState:
        return EverythingState(
            episode_id=self.episode_id,
            step_count=self.step_count,
            seed=self.seed,
            task=self.task.id if self.target is not None else None,  # type: ignore[arg-type]
            value=self.value,
            target=self.target,
            total_reward=self.total_reward,
        )

    @tool
    def describe_task(
        self, task: Annotated[TaskName, Field(description="A task name from the manifest.")]
    ) -> dict[str, Any]:
        """Describe one of the environment's tasks (its split and target range)."""
        spec = TASKS[task]
        return {"task": task, **spec}

    @tool
    def peek(self) -> dict[str, Any]:
        """This session's counter, target and step count (not an episode step)."""
        return {"value": self.value, "target": self.target, "step_count": self.step_count}


def _issue(field: str, message: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": [field], "msg": message, "input": None}
