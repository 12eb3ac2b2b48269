"""Environments used by the SDK tests (real environments, served by the real runtime)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar, Literal

from openenv import Action, Observation, State
from openenv.server import Environment, EnvironmentFault, MCPEnvironment, tool


class MoveAction(Action):
    direction: Literal["left", "right"]
    amount: int
    fault: Literal["none", "raise", "public", "hang", "nan", "wrong_type", "big"] = "none"


class LineObservation(Observation):
    position: int
    text: str = ""


class LineState(State):
    position: int = 0
    seed: int | None = None


class LineEnv(Environment):
    """A line walk: reach |position| >= 10 to terminate; 20 steps truncate."""

    action_type = MoveAction
    observation_type = LineObservation
    state_type = LineState

    def __init__(self) -> None:
        self.position = 0
        self.steps = 0
        self.episode_id: str | None = None
        self.seed: int | None = None

    async def reset(self, seed: int | None = None, episode_id: str | None = None) -> LineObservation:
        self.position, self.steps, self.episode_id, self.seed = 0, 0, episode_id, seed
        return LineObservation(position=0, metadata={"seed": seed})

    async def step(self, action: MoveAction) -> LineObservation:
        if action.fault == "raise":
            raise ValueError("/secret/path/internal detail")
        if action.fault == "public":
            raise EnvironmentFault("the door is locked")
        if action.fault == "hang":
            await asyncio.sleep(3600)
        if action.fault == "wrong_type":
            return {"position": 1}  # type: ignore[return-value]
        self.steps += 1
        self.position += action.amount if action.direction == "right" else -action.amount
        obs = LineObservation(
            position=self.position,
            reward=1.0 if abs(self.position) >= 10 else -0.01,
            terminated=abs(self.position) >= 10,
            truncated=self.steps >= 20 and abs(self.position) < 10,
        )
        if action.fault == "nan":
            object.__setattr__(obs, "reward", float("nan"))
        if action.fault == "big":
            obs.text = "x" * 200_000
        return obs

    async def state(self) -> LineState:
        return LineState(
            episode_id=self.episode_id,
            step_count=self.steps,
            position=self.position,
            seed=self.seed,
        )


class SyncLineEnv(Environment):
    """The same walk with blocking methods (run on the session's worker thread)."""

    action_type = MoveAction
    observation_type = LineObservation
    closed: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.position = 0
        self.steps = 0
        self.episode_id: str | None = None

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> LineObservation:
        self.position, self.steps, self.episode_id = 0, 0, episode_id
        return LineObservation(position=0, metadata={"kwargs": sorted(kwargs)})

    def step(self, action: MoveAction) -> LineObservation:
        if action.fault == "hang":
            time.sleep(1.5)
        self.steps += 1
        self.position += action.amount if action.direction == "right" else -action.amount
        return LineObservation(position=self.position, reward=0.0)

    def state(self) -> State:
        return State(episode_id=self.episode_id, step_count=self.steps)

    def close(self) -> None:
        SyncLineEnv.closed.append(self.episode_id or "?")


class EchoEnv(MCPEnvironment):
    """Echoes messages back (MCP tools)."""

    def ready_metadata(self) -> dict[str, Any]:
        return {"status": "ready", "message": "Echo environment ready!"}

    @tool
    def echo_message(self, message: str) -> str:
        """Echo back the provided message."""
        return message

    @tool
    def echo_with_length(self, message: str) -> dict[str, Any]:
        """Echo back the message together with its length."""
        return {"message": message, "length": len(message)}

    @tool
    def explode(self) -> str:
        """Always fails."""
        raise RuntimeError("boom")


class BrokenFactoryEnv(Environment):
    def __init__(self) -> None:
        raise RuntimeError("no database")
