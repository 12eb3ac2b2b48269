"""Environments whose observations carry a wall-clock timing, for `determinism.same_seed`.

`marked_app` declares the timing volatile (`x-openenv-nondeterministic`, OE-HTTP-027) and must be
judged deterministic; `unmarked_app` does not, and its differing timings are a NON-STRICT finding;
`live_app` declares that it cannot be seeded (`deterministic = False`, OE-HTTP-028): not judged.
Served by `openenv serve` in tests.
"""

from __future__ import annotations

import random
import time
from typing import Literal

from openenv import Action, Observation
from openenv.server import Environment, create_app
from pydantic import Field


class Roll(Action):
    sides: Literal[6] = 6


class MarkedObservation(Observation):
    value: int
    took_ns: int = Field(default=0, json_schema_extra={"x-openenv-nondeterministic": True})


class UnmarkedObservation(Observation):
    value: int
    took_ns: int = 0


class _Dice:
    def __init__(self) -> None:
        self.rng = random.Random(0)

    def roll(self) -> tuple[int, int]:
        started = time.perf_counter_ns()
        value = self.rng.randint(1, 6)
        return value, time.perf_counter_ns() - started + 1


class MarkedDice(Environment[Roll, MarkedObservation]):
    action_type = Roll
    observation_type = MarkedObservation

    def __init__(self) -> None:
        self.dice = _Dice()

    def reset(self, seed: int | None = None) -> MarkedObservation:
        self.dice.rng.seed(seed)
        return MarkedObservation(value=0)

    def step(self, action: Roll) -> MarkedObservation:
        value, took = self.dice.roll()
        return MarkedObservation(value=value, took_ns=took)


class UnmarkedDice(Environment[Roll, UnmarkedObservation]):
    action_type = Roll
    observation_type = UnmarkedObservation

    def __init__(self) -> None:
        self.dice = _Dice()

    def reset(self, seed: int | None = None) -> UnmarkedObservation:
        self.dice.rng.seed(seed)
        return UnmarkedObservation(value=0)

    def step(self, action: Roll) -> UnmarkedObservation:
        value, took = self.dice.roll()
        return UnmarkedObservation(value=value, took_ns=took)


marked_app = create_app(MarkedDice, name="marked_dice")
unmarked_app = create_app(UnmarkedDice, name="unmarked_dice")


class LiveDice(UnmarkedDice):
    """The unmarked timing, but the environment says it cannot be seeded."""

    deterministic = False


live_app = create_app(LiveDice, name="live_dice")
