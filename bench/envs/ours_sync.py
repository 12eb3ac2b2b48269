"""The benchmark's line environment written the way most 0.10 environments are: plain ``def``.

Same models and behaviour as ``bench/envs/ours_typed.py``; the methods are synchronous and the class
keeps the SDK default ``blocking = True``, so each session's calls run on that session's own worker
thread — as 0.10's ``typed_app`` runs on its executor. Served by
``openenv serve bench.envs.ours_sync:app``; ``bench/run.py`` measures it as ``sync_env_<K>``.
"""

from __future__ import annotations

import uuid
from typing import Any

from openenv.server import Environment, create_app

from bench.envs.ours_typed import GOAL, MAX_SESSIONS, LineObservation, LineState, MoveAction


class SyncLineEnv(Environment[MoveAction, LineObservation, LineState]):
    """A point on an integer line; the episode ends ten units away from the origin."""

    action_type = MoveAction
    observation_type = LineObservation
    state_type = LineState

    def __init__(self) -> None:
        self._position = 0
        self._seed: int | None = None

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> LineObservation:
        self._episode_id = str(uuid.uuid4()) if episode_id is None else episode_id
        self._position = 0
        self._seed = seed
        return LineObservation(position=0, metadata={"reset_kwargs": dict(kwargs), "seed": seed})

    def step(self, action: MoveAction) -> LineObservation:
        self._position += action.amount if action.direction == "right" else -action.amount
        done = abs(self._position) >= GOAL
        return LineObservation(position=self._position, done=done, reward=1.0 if done else 0.0)

    def state(self) -> LineState:
        return LineState(position=self._position, seed=self._seed)


app = create_app(SyncLineEnv, name="line_env", max_sessions=MAX_SESSIONS)
