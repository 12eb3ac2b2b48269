"""Result vocabulary of the harness: outcomes, levels, transcripts, case results and the report.

Contract: these are plain data classes with a stable JSON form (`to_json()`), the shape that
`schemas/ConformanceReport.schema.json` describes. Nothing here performs I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

REPORT_FORMAT = "openenv-conformance-report/1"
HARNESS_NAME = "openenv-conformance"
MAX_EVENT_CHARS = 4_096
"""Frames longer than this are cut in transcripts (the original length is kept)."""


class Outcome(StrEnum):
    """What one case concluded (Autobahn|Testsuite vocabulary)."""

    PASS = "PASS"
    FAIL = "FAIL"
    NON_STRICT = "NON-STRICT"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    INFORMATIONAL = "INFORMATIONAL"
    ERROR = "ERROR"


class Level(StrEnum):
    """RFC 2119 requirement level of the clauses a check tests."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


@dataclass(slots=True)
class Event:
    """One transcript line: a frame sent/received, a connection event or an HTTP exchange."""

    t_ms: float
    """Milliseconds since the case started."""
    conn: str
    """Which connection (`ws1`, `http`, ...)."""
    kind: str
    """`send`, `recv`, `open`, `close`, `http`, `note`."""
    data: str
    size: int | None = None
    """Original byte/char length when `data` was cut or describes a binary frame."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t_ms": round(self.t_ms, 3),
            "conn": self.conn,
            "kind": self.kind,
            "data": self.data,
        }
        if self.size is not None:
            out["size"] = self.size
        return out


@dataclass(slots=True)
class CaseResult:
    """The outcome of one check against the target."""

    id: str
    title: str
    profile: str
    level: Level
    clauses: list[str]
    outcome: Outcome
    message: str
    duration_ms: float
    transcript: list[Event] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    expected_failure: str | None = None
    """Reason from the expected-failures file when this id is listed there."""
    counted: bool = True
    """False for a check outside the frozen requirement set of its level (runs, does not count)."""
    rerun: str | None = None
    """The command that reruns just this case (set for FAIL, NON-STRICT and ERROR)."""
    root_cause: str | None = None
    """Id of the case whose failure this one follows from, when the harness traced it."""

    @property
    def stale_expectation(self) -> bool:
        """An expected failure that did not fail: the list entry is out of date."""
        return self.expected_failure is not None and self.outcome in (
            Outcome.PASS,
            Outcome.NON_STRICT,
            Outcome.UNIMPLEMENTED,
            Outcome.INFORMATIONAL,
        )

    @property
    def protocol_level(self) -> str:
        """`v1` for the v1 profile, `base` for everything else."""
        return "v1" if self.profile == "v1" else "base"

    @property
    def blocking(self) -> bool:
        """True when this case alone makes the run fail (FAIL/ERROR not expected, or stale)."""
        if not self.counted:
            return False
        if self.stale_expectation:
            return True
        bad = self.outcome in (Outcome.FAIL, Outcome.ERROR)
        return bad and self.expected_failure is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "profile": self.profile,
            "level": self.level.value,
            "clauses": list(self.clauses),
            "outcome": self.outcome.value,
            "message": self.message,
            "duration_s": round(self.duration_ms / 1000.0, 6),
            "transcript": [e.to_json() for e in self.transcript],
        }
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        if not self.counted:
            out["counted"] = False
        if self.rerun is not None:
            out["rerun"] = self.rerun
        if self.root_cause is not None:
            out["root_cause"] = self.root_cause
        if self.expected_failure is not None:
            out["expected_failure"] = {
                "reason": self.expected_failure,
                "stale": self.stale_expectation,
            }
        return out


@dataclass(slots=True)
class Report:
    """Everything one run produced; `passed` decides the exit status."""

    target: str
    harness_version: str
    started_at: str
    finished_at: str
    seed: int
    profiles: list[str]
    cases: list[CaseResult]
    profile_durations_ms: dict[str, float]
    duration_ms: float
    clause_index: str | None
    """Path of the clause index the levels came from, or None when it was absent."""
    negotiated_protocol: str | None = None
    notes: list[str] = field(default_factory=list)
    requirement_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per level: the frozen set judged against (`name`, `counted`, `missing`); see `frozen_sets`."""

    @property
    def passed(self) -> bool:
        return not any(c.blocking for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        for c in self.cases:
            out[c.outcome.value] += 1
        return out

    def failing_musts(self) -> list[CaseResult]:
        return [c for c in self.cases if c.outcome is Outcome.FAIL]

    def levels(self) -> list[str]:
        return ["base", "v1"] if "v1" in self.profiles else ["base"]

    def verdicts(self) -> dict[str, str]:
        """Per protocol level: FAIL (a counted FAIL/ERROR), UNIMPLEMENTED (v1 not offered),
        INCOMPLETE (checks of the level's frozen set did not run), else PASS."""
        out: dict[str, str] = {}
        for level in self.levels():
            cases = [c for c in self.cases if c.protocol_level == level and c.counted]
            if any(c.outcome in (Outcome.FAIL, Outcome.ERROR) for c in cases):
                out[level] = "FAIL"
            elif level == "v1" and self.negotiated_protocol is None:
                out[level] = "UNIMPLEMENTED"
            elif self.requirement_sets.get("client" if self.profiles == ["client"] else level, {}).get("missing"):
                out[level] = "INCOMPLETE"
            else:
                out[level] = "PASS"
        return out

    def to_json(self) -> dict[str, Any]:
        by_profile: dict[str, dict[str, Any]] = {}
        for p in self.profiles:
            counts = {o.value: 0 for o in Outcome}
            for c in self.cases:
                if c.profile == p:
                    counts[c.outcome.value] += 1
            by_profile[p] = {
                "counts": counts,
                "duration_s": round(self.profile_durations_ms.get(p, 0.0) / 1000.0, 6),
            }
        return {
            "format": REPORT_FORMAT,
            "harness": {"name": HARNESS_NAME, "version": self.harness_version},
            "target": self.target,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_ms / 1000.0, 6),
            "seed": self.seed,
            "profiles": list(self.profiles),
            "levels": self.levels(),
            "negotiated_protocol": self.negotiated_protocol,
            "clause_index": self.clause_index,
            "requirement_sets": {k: dict(v) for k, v in self.requirement_sets.items()},
            "verdicts": self.verdicts(),
            "passed": self.passed,
            "summary": {
                "counts": self.counts(),
                "by_profile": by_profile,
                "blocking": [c.id for c in self.cases if c.blocking],
                "expected_failures": [c.id for c in self.cases if c.expected_failure is not None and not c.blocking],
                "stale_expected_failures": [c.id for c in self.cases if c.stale_expectation],
            },
            "notes": list(self.notes),
            "cases": [c.to_json() for c in self.cases],
        }


def replace_outcome(case: CaseResult, outcome: Outcome, message: str) -> CaseResult:
    """Copy of `case` with another outcome (used when the run budget cuts a case short)."""
    return dataclasses.replace(case, outcome=outcome, message=message)
