"""0.10's `openenv.core.client_types`: the `StepResult` a 0.10-style client returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["StateT", "StepResult"]

ObsT = TypeVar("ObsT")
StateT = TypeVar("StateT")


@dataclass
class StepResult(Generic[ObsT]):
    """One step's outcome: the parsed observation, reward, done flag and metadata."""

    observation: ObsT
    reward: float | None = None
    done: bool = False
    metadata: dict[str, Any] | None = None
