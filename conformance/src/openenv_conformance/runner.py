"""Run checks against one target and build the `Report`.

Contract: `run_suite(url, ...)` (sync) / `arun_suite(...)` (async) select the checks of the given
profiles, first make sure the target answers HTTP (else `TargetUnreachable`), run discovery, then
run the cases one after another, each under its own time limit, the whole run under
`options.budget_s`. A check's level comes from the clause index when its clauses are listed
there. A raised `Fail` is FAIL for a MUST and NON-STRICT otherwise; an exception escaping a check
is ERROR with its repr. Expected failures mark listed cases; see `model.CaseResult.blocking`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import shlex
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from openenv_conformance import __version__
from openenv_conformance.checks._common import metadata_limits
from openenv_conformance.clauses import ClauseIndex
from openenv_conformance.context import CaseContext, RunState
from openenv_conformance.discovery import Discovery, discover
from openenv_conformance.expected import ExpectedFailure, expectation, load_expected_failures
from openenv_conformance.frozen_sets import SETS as FROZEN
from openenv_conformance.model import CaseResult, Level, Outcome, Report
from openenv_conformance.paths import clause_index_path
from openenv_conformance.registry import PROFILES, CheckSpec, all_checks
from openenv_conformance.target import RunOptions, Target
from openenv_conformance.verdicts import Fail, Info, Tolerated, Undecided, Unimplemented
from openenv_conformance.wire_schema import SchemaSet

RUN_LAST = ("core.frames.schema", "core.errors.no_internals")
"""Checks that summarise what earlier cases saw."""

Progress = Callable[[CaseResult, int, int], None]


class TargetUnreachable(Exception):
    """The target did not answer HTTP at all."""


def parse_profiles(text: str | Iterable[str]) -> list[str]:
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    if "all" in items:
        return list(PROFILES)
    unknown = [p for p in items if p not in PROFILES]
    if unknown or not items:
        raise ValueError(f"unknown profile(s) {unknown}; choose from {', '.join(PROFILES)}, all")
    return [p for p in PROFILES if p in items]


def select(profiles: list[str], only: Iterable[str] | None = None) -> list[CheckSpec]:
    checks = all_checks()
    wanted = set(only) if only is not None else None
    chosen = [c for c in checks.values() if c.profile in profiles and (wanted is None or c.id in wanted)]
    chosen.sort(key=lambda c: (c.id in RUN_LAST, PROFILES.index(c.profile)))
    return chosen


async def _reachable(target: Target, timeout_s: float) -> None:
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
            await client.get(target.http_url("/health"))
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"cannot reach {target.base_url}: {type(exc).__name__}: {exc}".rstrip(": ")) from None


def _level(spec: CheckSpec, index: ClauseIndex) -> Level:
    return index.level_of(spec.clauses) or spec.level


async def _run_case(spec: CheckSpec, run: RunState, index: ClauseIndex, level: Level, deadline: float) -> CaseResult:
    seed = run.options.seed
    case_seed = seed ^ zlib.crc32(spec.id.encode())
    ctx = CaseContext(run, spec.id, case_seed)
    limit = spec.timeout_s or max(10.0, run.options.timeout_s * 4)
    limit = max(0.1, min(limit, deadline - time.monotonic()))
    outcome, message = Outcome.PASS, ""
    try:
        note = await asyncio.wait_for(spec.fn(ctx), limit)
        message = note or ""
        if spec.informational:
            outcome = Outcome.INFORMATIONAL
    except Fail as exc:
        violated = exc.level or (index.level_of(exc.clauses) if exc.clauses else level)
        outcome = Outcome.FAIL if violated is Level.MUST else Outcome.NON_STRICT
        message = exc.message
    except Tolerated as exc:
        outcome, message = Outcome.NON_STRICT, exc.message
    except Unimplemented as exc:
        outcome, message = Outcome.UNIMPLEMENTED, exc.message
    except Info as exc:
        outcome, message = Outcome.INFORMATIONAL, exc.message
    except Undecided as exc:
        outcome, message = Outcome.ERROR, exc.message
    except TimeoutError:
        outcome, message = Outcome.ERROR, f"case did not finish within {limit:.1f}s"
    except Exception as exc:  # a harness or target surprise: report, never crash the run
        outcome, message = Outcome.ERROR, f"harness error: {exc!r}"
    finally:
        with contextlib.suppress(Exception):  # best-effort cleanup; the outcome is decided
            await asyncio.wait_for(ctx.aclose(), 5.0)
    return CaseResult(
        id=spec.id,
        title=spec.title,
        profile=spec.profile,
        level=level,
        clauses=list(spec.clauses),
        outcome=outcome,
        message=message,
        duration_ms=ctx.elapsed_ms(),
        transcript=ctx.transcript,
        metrics=ctx.metrics,
    )


async def arun_suite(
    url: str,
    *,
    profiles: str | Iterable[str] = "all",
    options: RunOptions | None = None,
    expected_failures: Path | dict[str, str] | None = None,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
    schemas: SchemaSet | None = None,
) -> Report:
    options = options or RunOptions()
    target = Target.parse(url)
    chosen_profiles = parse_profiles(profiles)
    index = ClauseIndex.load(clause_index_path())
    known = all_checks()
    entries = load_expected_failures(expected_failures, known) if isinstance(expected_failures, Path) else None
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    deadline = t0 + options.budget_s
    await _reachable(target, options.timeout_s)
    run = RunState(target, options, schemas or SchemaSet.load())
    setup = CaseContext(run, "setup", options.seed)
    found: Discovery = await discover(setup)
    limits = await metadata_limits(setup)
    if limits and isinstance(limits.get("max_sessions"), int) and limits["max_sessions"] >= 1:
        run.cache["max_sessions"] = limits["max_sessions"]  # cases never hold more (context.connect)
    pace = await _learn_pace(setup, run)
    await setup.aclose()
    run.cache["discovery"] = found
    if entries is None:  # a plain {id: reason} mapping (or none)
        plain = expected_failures if isinstance(expected_failures, dict) else {}
        entries = [ExpectedFailure(k, v) for k, v in plain.items()]
    notes = [f"discovery: {p}" for p in found.problems]
    if pace:
        notes.append(pace)
    if found.is_mcp_env:
        notes.append(f"MCP environment; tools: {', '.join(t.name for t in found.tools) or 'none'}")
    if index.path is None:
        notes.append("no spec/clause-index.json found: levels are the checks' own defaults")
    specs = select(chosen_profiles, only)
    results: list[CaseResult] = []
    durations: dict[str, float] = dict.fromkeys(chosen_profiles, 0.0)
    for n, spec in enumerate(specs, 1):
        level = _level(spec, index)
        if time.monotonic() >= deadline:
            result = CaseResult(
                spec.id, spec.title, spec.profile, level, list(spec.clauses), Outcome.ERROR,
                f"run budget of {options.budget_s:g}s exhausted before this case", 0.0,
            )  # fmt: skip
        else:
            result = await _run_case(spec, run, index, level, deadline)
        failed = result.outcome in (Outcome.FAIL, Outcome.ERROR)
        result.expected_failure, mismatch = expectation(entries, spec.id, found.env_name, result.message, failed=failed)
        if mismatch:
            result.message = f"{result.message} ({mismatch})"
        durations[spec.profile] += result.duration_ms
        results.append(result)
        if progress is not None:
            progress(result, n, len(specs))
    sets = _judge_sets(results, chosen_profiles)
    notes.extend(trace_root_causes(results))
    for result in results:
        if result.outcome in (Outcome.FAIL, Outcome.NON_STRICT, Outcome.ERROR):
            result.rerun = rerun_command(target.base_url, result.id, options)
    return Report(
        target=target.base_url,
        harness_version=__version__,
        started_at=started,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seed=options.seed,
        profiles=chosen_profiles,
        cases=results,
        profile_durations_ms=durations,
        duration_ms=(time.monotonic() - t0) * 1000.0,
        clause_index=str(index.path) if index.path else None,
        negotiated_protocol="openenv.v1" if found.v1_selected else None,
        notes=notes,
        requirement_sets=sets,
    )


PACE_MAX_TIMEOUT_S = 120.0
ROOT_CAUSE_MIN = 2
"""This many failing cases with the same error signature are traced to one root cause."""
_SIGNATURE = re.compile(r"got error '([A-Z][A-Z0-9_]*)'")


def trace_root_causes(results: list[CaseResult]) -> list[str]:
    """Name a shared root cause once: when several failing cases were all answered with the same
    error code where a reply was expected (e.g. `/schema` admits an action the environment rejects
    with EXECUTION_ERROR), the first is the root and the others are marked as its consequences
    (`root_cause`). Outcomes are unchanged; the report says it once, in a note."""
    groups: dict[str, list[CaseResult]] = {}
    for case in results:
        if case.outcome in (Outcome.FAIL, Outcome.ERROR):
            m = _SIGNATURE.search(case.message)
            if m:
                groups.setdefault(m.group(1), []).append(case)
    notes = []
    for code, cases in groups.items():
        if len(cases) < ROOT_CAUSE_MIN:
            continue
        root, rest = cases[0], cases[1:]
        for case in rest:
            case.root_cause = root.id
        notes.append(
            f"root cause: {len(cases)} cases failed because a request was answered with {code} "
            f"(first: {root.id}: {root.message[:160]}); {', '.join(c.id for c in rest)} follow from it"
        )
    return notes


async def _learn_pace(ctx: CaseContext, run: RunState) -> str | None:
    """Time one `reset` on a fresh session under a generous limit (the first reset of many real
    environments loads a model or starts a process). When it takes more than half the per-reply
    timeout, the timeout of every case becomes three times that reset (at most
    `PACE_MAX_TIMEOUT_S`), and the slowness is reported (INFORMATIONAL, a note), not a cascade."""
    old = run.options.timeout_s
    ctx.timeout_s = max(old * 6, 30.0)
    t0 = time.monotonic()
    try:
        conn = await ctx.connect()
        reply = await conn.request({"type": "reset", "data": dict(run.options.reset_data)})
    except (Fail, Unimplemented, Undecided, TimeoutError):
        return None  # the cases themselves report what is wrong
    took = time.monotonic() - t0
    if not isinstance(reply, dict) or took <= old / 2:
        return None
    new = min(PACE_MAX_TIMEOUT_S, max(old, round(took * 3, 1)))
    run.options = dataclasses.replace(run.options, timeout_s=new)
    return f"INFORMATIONAL: a first reset took {took:.2f}s; per-reply timeout raised from {old:g}s to {new:g}s"


def _set_level(profile: str) -> str:
    return "v1" if profile == "v1" else "base"


def _judge_sets(results: list[CaseResult], profiles: list[str]) -> dict[str, dict[str, Any]]:
    """Mark cases outside the frozen sets as not counted; per level, what of its set ran."""
    checks = all_checks()
    for result in results:
        spec = checks[result.id]
        frozen = FROZEN[_set_level(spec.profile)]["checks"]
        result.counted = spec.informational or result.id in frozen
    ran = {r.id for r in results}
    out: dict[str, dict[str, Any]] = {}
    for level in ["base", "v1"] if "v1" in profiles else ["base"]:
        listed = [cid for cid in FROZEN[level]["checks"] if cid in checks and checks[cid].profile in profiles]
        out[level] = {
            "name": str(FROZEN[level]["name"]),
            "counted": sum(cid in ran for cid in listed),
            "missing": sorted(cid for cid in listed if cid not in ran),
        }
    return out


def rerun_command(url: str, check_id: str, options: RunOptions) -> str:
    """The command line that reruns one case with the options that shaped it."""
    parts = ["openenv-conformance", "run", url, "--check", check_id]
    if options.seed:
        parts += ["--seed", str(options.seed)]
    if options.reset_data:
        parts += ["--reset-data", json.dumps(options.reset_data, separators=(",", ":"))]
    if options.action is not None:
        parts += ["--action", json.dumps(options.action, separators=(",", ":"))]
    return shlex.join(parts)


def run_suite(url: str, **kwargs: object) -> Report:
    """Synchronous `arun_suite` (for scripts and certification runs)."""
    return asyncio.run(arun_suite(url, **kwargs))  # type: ignore[arg-type]
