"""The gridworld_env as an OpenEnv `Environment` (a thin layer over `game`).

`reset(seed=None, episode_id=None, width=8, height=8, traps=3, wall_percent=20, max_steps=50)`
draws a layout from the seed (a fresh random seed when none is given; the seed used is always in
`metadata["seed"]` and in `state`, so any episode can be replayed). `step(MoveAction)` moves the
agent; the observation carries the board as text plus structured fields, the dense reward, and
`terminated` (goal or trap) / `truncated` (step limit). It is the determinism target of the
conformance suite: the same seed and actions give byte-identical observations.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Literal

from openenv import Action, Observation, State
from openenv.server import Environment, EnvironmentFault
from pydantic import Field

from .game import MASK64, Game, GameConfig, new_game

MAX_PROTOCOL_SEED = 2**53 - 1
"""The largest seed a `reset` frame may carry (OE-WS-011)."""


class MoveAction(Action):
    """Move the agent one cell."""

    direction: Literal["north", "south", "east", "west"]


class GridObservation(Observation):
    """The board after a move (or after reset)."""

    board: str = Field(description="Rows of '#' wall, '.' floor, 'X' trap, 'G' goal, 'A' agent.")
    agent: tuple[int, int] = Field(description="Agent (row, column).")
    goal: tuple[int, int]
    width: int
    height: int
    steps_taken: int
    steps_left: int
    distance_to_goal: int = Field(description="Shortest safe path length; -1 on a trap.")
    event: Literal["start", "moved", "blocked", "goal", "trap"] = "start"


class GridState(State):
    """Episode state plus the seed (to replay it) and the reward so far."""

    seed: int | None
    total_reward: float


class GridWorldEnvironment(Environment[MoveAction, GridObservation, GridState]):
    """Seeded grid world: reach G, avoid X; -0.01 per move, ±0.1 shaping, +1 goal, -1 trap."""

    action_type = MoveAction
    observation_type = GridObservation
    state_type = GridState

    def __init__(self) -> None:
        self._game: Game | None = None
        self._episode_id: str | None = None

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        width: int = 8,
        height: int = 8,
        traps: int = 3,
        wall_percent: int = 20,
        max_steps: int = 50,
    ) -> GridObservation:
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "big") & MAX_PROTOCOL_SEED  # replayable: a valid reset seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MASK64:
            raise EnvironmentFault(f"seed must be an integer in [0, 2**64), got {seed!r}")
        try:
            config = GameConfig(width, height, wall_percent, traps, max_steps)
        except ValueError as exc:
            raise EnvironmentFault(str(exc)) from exc
        self._game = new_game(seed, config)
        self._episode_id = episode_id or uuid.uuid4().hex
        return self._observe("start", reward=None)

    def step(self, action: MoveAction) -> GridObservation:
        if self._game is None:
            raise EnvironmentFault("no episode: call reset before step")
        if self._game.done:
            raise EnvironmentFault("the episode has ended: call reset")
        result = self._game.move(action.direction)
        return self._observe(
            result.event,
            reward=result.reward,
            terminated=result.terminated,
            truncated=result.truncated,
        )

    def state(self) -> GridState:
        game = self._game
        return GridState(
            episode_id=self._episode_id,
            step_count=game.steps if game else 0,
            seed=game.seed if game else None,
            total_reward=game.total_reward if game else 0.0,
        )

    def _observe(self, event: Any, reward: float | None, **flags: bool) -> GridObservation:
        game = self._game
        assert game is not None
        return GridObservation(
            board=game.render(),
            agent=game.agent,
            goal=game.layout.goal,
            width=game.layout.width,
            height=game.layout.height,
            steps_taken=game.steps,
            steps_left=game.config.max_steps - game.steps,
            distance_to_goal=game.distance_to_goal,
            event=event,
            reward=reward,
            done=flags.get("terminated", False) or flags.get("truncated", False),
            metadata={"seed": game.seed},
            **flags,
        )
