"""The benchmark's line environment, written against this project's SDK.

Same behaviour and payload sizes as ``interop/legacy_envs/typed_app.py`` (the 0.10 side):
``MoveAction{direction: "left"|"right", amount: int 1..5}``, ``LineObservation{position, text}``,
``LineState{episode_id, step_count, position, seed}``; reset metadata ``{"reset_kwargs", "seed"}``;
reward ``0.0`` per step, ``done`` (terminated) with reward ``1.0`` once ``|position| >= 10``.
Served by ``openenv serve bench.envs.ours_typed:app --host 127.0.0.1 --port N``.

The methods are ``async def`` — the SDK's idiomatic form for an environment that never blocks:
they run on the server's event loop, with no worker thread per session and no thread hop per
call. (0.10's side uses 0.10's own default: a sync ``step`` on the session's executor thread.)
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from openenv import Action, Observation, State
from openenv.server import Environment, create_app
from pydantic import Field

GOAL = 10
MAX_SESSIONS = 20_000


class MoveAction(Action):
    direction: Literal["left", "right"]
    amount: int = Field(ge=1, le=5)


class LineObservation(Observation):
    position: int
    text: str = ""


class LineState(State):
    position: int = 0
    seed: int | None = None


class LineEnv(Environment[MoveAction, LineObservation, LineState]):
    """A point on an integer line; the episode ends ten units away from the origin."""

    action_type = MoveAction
    observation_type = LineObservation

    def __init__(self) -> None:
        self._episode_id: str | None = None
        self._step_count = 0
        self._position = 0
        self._seed: int | None = None

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> LineObservation:
        self._episode_id = str(uuid.uuid4()) if episode_id is None else episode_id
        self._step_count = 0
        self._position = 0
        self._seed = seed
        return LineObservation(position=0, metadata={"reset_kwargs": dict(kwargs), "seed": seed})

    async def step(self, action: MoveAction) -> LineObservation:
        self._position += action.amount if action.direction == "right" else -action.amount
        self._step_count += 1
        done = abs(self._position) >= GOAL
        return LineObservation(position=self._position, done=done, reward=1.0 if done else 0.0)

    async def state(self) -> LineState:
        return LineState(
            episode_id=self._episode_id,
            step_count=self._step_count,
            position=self._position,
            seed=self._seed,
        )


app = create_app(LineEnv, name="line_env", max_sessions=MAX_SESSIONS)
