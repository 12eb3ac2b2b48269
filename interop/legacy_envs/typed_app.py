"""Typed line environment written against openenv 0.10.0's public server API.

Runs only inside ``.venv-openenv010`` (``python -m uvicorn typed_app:app`` from this directory).
It mirrors the typed_env of the 0.10 wire report:

* ``MoveAction{direction: "left"|"right", amount: int 1..5, fail: bool = False}`` (plus 0.10's
  inherited ``metadata``); ``fail=True`` raises ``ValueError("step failed on purpose")`` before
  any state changes (→ ``EXECUTION_ERROR``);
* ``LineObservation{position: int, text: str = ""}``; ``LineState{position, seed}`` beside
  ``episode_id``/``step_count`` (published through ``create_app(..., state_cls=LineState)``);
* ``reset(seed, episode_id, **kwargs)`` → position 0, reward ``None``, metadata
  ``{"reset_kwargs": kwargs, "seed": seed}``; a bad seed/episode_id type raises pydantic's
  ``ValidationError`` from env code (0.10 turns it into ``VALIDATION_ERROR``);
* ``step`` moves by ±amount, reward ``0.0``; once ``|position| >= 10`` it is ``done`` with reward
  ``1.0`` (stepping after done is allowed, as in 0.10);
* capacity comes from ``MAX_CONCURRENT_ENVS`` (default 8).
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Literal

from openenv.core.env_server import Action, Environment, Observation, State, create_app
from pydantic import Field

GOAL = 10


class MoveAction(Action):
    direction: Literal["left", "right"]
    amount: int = Field(ge=1, le=5)
    fail: bool = False


class LineObservation(Observation):
    position: int
    text: str = ""


class LineState(State):
    position: int = 0
    seed: int | None = None


class LineEnvironment(Environment[MoveAction, LineObservation, LineState]):
    """A point on an integer line; the episode ends ten units away from the origin."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        super().__init__()
        self._state = LineState()

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> LineObservation:
        self._state = LineState(
            episode_id=str(uuid.uuid4()) if episode_id is None else episode_id,
            step_count=0,
            position=0,
            seed=seed,
        )
        return LineObservation(position=0, metadata={"reset_kwargs": dict(kwargs), "seed": self._state.seed})

    def step(self, action: MoveAction, timeout_s: float | None = None, **kwargs: Any) -> LineObservation:
        if action.fail:
            raise ValueError("step failed on purpose")
        delta = action.amount if action.direction == "right" else -action.amount
        self._state.position += delta
        self._state.step_count += 1
        done = abs(self._state.position) >= GOAL
        return LineObservation(position=self._state.position, done=done, reward=1.0 if done else 0.0)

    @property
    def state(self) -> LineState:
        return self._state


app = create_app(
    LineEnvironment,
    MoveAction,
    LineObservation,
    env_name="typed_env",
    max_concurrent_envs=int(os.environ.get("MAX_CONCURRENT_ENVS", "8")),
    state_cls=LineState,
)
