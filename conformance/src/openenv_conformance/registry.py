"""The check registry: every check declares a stable id, the clauses it tests and a profile.

Contract: `@check("core.reset.envelope", clauses=[...], title=...)` registers an async function
`fn(ctx) -> str | None`. Returning (with an optional note) means PASS; raising one of the
`Verdict` exceptions from `openenv_conformance.verdicts` gives the other outcomes. The profile is
the id's first dotted part. The level declared here is a fallback; the runner takes the level
from the clause index when the cited clauses are in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openenv_conformance.model import Level

if TYPE_CHECKING:
    from openenv_conformance.context import CaseContext

CheckFn = Callable[["CaseContext"], Awaitable[str | None]]

PROFILES = (
    "core",
    "v1",
    "http",
    "mcp",
    "concurrency",
    "isolation",
    "rewards",
    "tasks",
    "determinism",
    "robustness",
    "performance",
)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    id: str
    title: str
    profile: str
    clauses: tuple[str, ...]
    level: Level
    fn: CheckFn
    timeout_s: float | None
    """Per-case limit; None = the run's `--timeout` times a small factor."""
    informational: bool


CHECKS: dict[str, CheckSpec] = {}


def check(
    check_id: str,
    *,
    title: str,
    clauses: list[str] | tuple[str, ...] = (),
    level: Level = Level.MUST,
    timeout_s: float | None = None,
    informational: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    profile = check_id.split(".", 1)[0]
    if profile not in PROFILES:
        raise ValueError(f"check {check_id!r}: unknown profile {profile!r}")

    def register(fn: CheckFn) -> CheckFn:
        if check_id in CHECKS:
            raise ValueError(f"duplicate check id {check_id!r}")
        CHECKS[check_id] = CheckSpec(check_id, title, profile, tuple(clauses), level, fn, timeout_s, informational)
        return fn

    return register


def all_checks() -> dict[str, CheckSpec]:
    """Every registered check (imports the check modules on first use)."""
    from openenv_conformance import checks  # noqa: F401  (registers on import)

    return CHECKS
