"""Reward components, delayed (trajectory) rewards and bounded trajectories (RFC 0004).

The wire carries them inside an observation's `metadata`, so base (0.10) and v1 peers pass them
through unchanged: `metadata["reward_info"]` is a `RewardInfo` object
(`schemas/RewardInfo.schema.json`):

* `source`: `"step"` (scored from this step alone) or `"trajectory_scorer"` (the environment scored
  the whole episode at its end); `pending: true` on a step whose reward is not final (its `reward`
  is 0.0 and the episode's score comes on the last observation).
* `components`: named parts of the scalar, each `{name, value, weight}`; when present, the
  observation's `reward` equals the weighted sum `Σ weight × value` (to 1e-9 relative).
* `scorer`: the name of the scorer that produced a trajectory reward (required with that source).

Environment side: `reward_info()` builds the object (and checks the sum). Recorded trajectories
(the `trajectory` member of `state`) are the server runtime's job, not the environment's: an
environment class sets `trajectory_max_steps` (see `openenv.server.Environment`).
Client side: `parse_reward_info(metadata)` reads it back (None when absent or malformed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MAX_COMPONENTS",
    "RewardComponent",
    "RewardInfo",
    "parse_reward_info",
    "reward_info",
    "weighted_sum",
]

MAX_COMPONENTS = 64
MAX_NAME_LENGTH = 64
Source = Literal["step", "trajectory_scorer"]


@dataclass(frozen=True, slots=True)
class RewardComponent:
    """One named part of a reward."""

    name: str
    value: float
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 0 < len(self.name) <= MAX_NAME_LENGTH:
            raise ValueError(f"a component name must be a string of 1-{MAX_NAME_LENGTH} characters")
        for what in ("value", "weight"):
            number = getattr(self, what)
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ValueError(f"component {self.name!r}: {what} must be a finite number")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": float(self.value), "weight": float(self.weight)}


def weighted_sum(components: Sequence[RewardComponent]) -> float:
    """Σ weight × value."""
    return float(math.fsum(c.weight * c.value for c in components))


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """The parsed `metadata["reward_info"]`."""

    source: Source
    components: tuple[RewardComponent, ...] = ()
    pending: bool = False
    scorer: str | None = None


def reward_info(
    components: Sequence[RewardComponent] = (),
    *,
    source: Source = "step",
    pending: bool = False,
    scorer: str | None = None,
) -> tuple[float, dict[str, Any]]:
    """`(reward, metadata entry)` for an observation: the reward is the weighted sum of the
    components (0.0 when pending). Raises `ValueError` for an inconsistent combination."""
    if source not in ("step", "trajectory_scorer"):
        raise ValueError("source must be 'step' or 'trajectory_scorer'")
    if source == "trajectory_scorer" and not scorer:
        raise ValueError("a trajectory reward names its scorer")
    if pending and components:
        raise ValueError("a pending reward has no components yet")
    if len(components) > MAX_COMPONENTS:
        raise ValueError(f"at most {MAX_COMPONENTS} components")
    names = [c.name for c in components]
    if len(set(names)) != len(names):
        raise ValueError("component names must be unique")
    info: dict[str, Any] = {"source": source, "pending": pending, "components": [c.as_dict() for c in components]}
    if scorer:
        info["scorer"] = scorer
    return (0.0 if pending else weighted_sum(components)), info


def parse_reward_info(metadata: Mapping[str, Any] | None) -> RewardInfo | None:
    """`metadata["reward_info"]` as a `RewardInfo`; None when absent or malformed."""
    raw = (metadata or {}).get("reward_info")
    if not isinstance(raw, Mapping):
        return None
    source = raw.get("source")
    if source not in ("step", "trajectory_scorer"):
        return None
    try:
        components = tuple(
            RewardComponent(c["name"], c["value"], c.get("weight", 1.0)) for c in raw.get("components") or ()
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    scorer = raw.get("scorer")
    return RewardInfo(
        source,
        components,
        bool(raw.get("pending", False)),
        scorer if isinstance(scorer, str) else None,
    )
