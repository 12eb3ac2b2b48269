"""Certify the environments of ``interop/legacy_envs/`` on 0.10 and on our runtime, side by side.

For each app of :data:`interop.legacy_server.LEGACY_APPS` and each runtime (``openenv010``: the real
0.10.0 server; ``ours``: the same module, unchanged, on our runtime in ``.venv-compat``) this starts
a server on loopback, runs the conformance suite against it (quick options: short timeouts, few
examples, no schemathesis pass) and then measures sequential steps per second over one base-level WebSocket session with
the SDK's sync client. :func:`compare` returns one :class:`Row` per app;
``python -m interop.side_by_side`` prints them as a Markdown table (and ``--json PATH`` writes them).
Everything is bounded: the suite by its budget, the measurement by ``steps`` and the client's
timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openenv.client import GenericSyncEnvClient
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.registry import all_checks
from openenv_conformance.target import RunOptions

from interop.legacy_server import LEGACY_APPS, Runtime, start_legacy_server

RUNTIMES: tuple[Runtime, ...] = ("openenv010", "ours")
QUICK = RunOptions(
    timeout_s=5.0,
    budget_s=120.0,
    sessions=2,
    perf_steps=20,
    fuzz_examples=8,
    schemathesis_examples=5,
    schemathesis_phases="coverage",
    schemathesis_paths="^/(reset|step|state|{env_name}/splits)$",
)
"""Suite options that keep one run within seconds (the harness's own tests use these, with 2 s replies)."""

CHECKS = set(all_checks()) - {"http.openapi.schemathesis"}
"""Every check but the schemathesis pass (a subprocess per run; the harness's own tests run it)."""

Policy = Callable[[dict[str, Any], int], dict[str, Any]]


def _tictactoe(observation: dict[str, Any], i: int) -> dict[str, Any]:
    cell = observation["legal_moves"][0]
    return {"row": cell // 3, "col": cell % 3}


POLICIES: dict[str, Policy] = {
    "echo": lambda obs, i: {"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": f"m{i}"}},
    "typed": lambda obs, i: {"direction": "right" if i % 2 == 0 else "left", "amount": 1},
    "tictactoe": _tictactoe,
    "code_exec": lambda obs, i: {"code": f"print({i} * 2)"},
    "notes_mcp": lambda obs, i: {"type": "call_tool", "tool_name": "word_count", "arguments": {"text": "a b c"}},
}
"""A valid action for each app, given the last observation (episodes are reset when done)."""

STEPS: dict[str, int] = {"code_exec": 40}
"""Measured steps per app (default 1,000; the code executor starts a process per step)."""


@dataclass
class Run:
    """One app on one runtime: suite outcome counts, MUST failures and steps/s."""

    outcomes: dict[str, int]
    must_failures: list[str]
    steps_per_s: float
    suite_s: float

    @property
    def passed(self) -> int:
        return self.outcomes.get(Outcome.PASS.value, 0)


@dataclass
class Row:
    app: str
    runs: dict[str, Run] = field(default_factory=dict)


def measure_steps(base_url: str, policy: Policy, steps: int) -> float:
    """Sequential steps/s over one base-level session (resets when an episode ends)."""
    with GenericSyncEnvClient(base_url, protocol="base", timeout_s=30.0) as client:
        observation = client.reset(seed=0).observation
        started = time.perf_counter()
        for i in range(steps):
            result = client.step(policy(observation, i))
            observation = result.observation
            if result.done:
                observation = client.reset(seed=i).observation
        return steps / (time.perf_counter() - started)


async def certify(app: str, runtime: Runtime, *, options: RunOptions = QUICK, steps: int | None = None) -> Run:
    """Start `app` on `runtime`, run the suite, measure steps/s, stop it."""
    with start_legacy_server(app, runtime=runtime, max_sessions=2) as server:  # type: ignore[arg-type]
        count = steps if steps is not None else STEPS.get(app, 1000)
        return await certify_server(server.base_url, POLICIES[app], count, options=options)


async def certify_server(base_url: str, policy: Policy, steps: int, *, options: RunOptions = QUICK) -> Run:
    """Run the suite against a running server, then measure its sequential steps/s with `policy`."""
    started = time.perf_counter()
    report = await arun_suite(base_url, options=options, only=CHECKS)
    suite_s = time.perf_counter() - started
    rate = await asyncio.to_thread(measure_steps, base_url, policy, steps)
    outcomes = collections.Counter(case.outcome.value for case in report.cases)
    failures = [
        case.id for case in report.cases if case.outcome in (Outcome.FAIL, Outcome.ERROR) and case.level.value == "MUST"
    ]
    return Run(dict(outcomes), sorted(failures), rate, suite_s)


async def compare(apps: Sequence[str] = tuple(LEGACY_APPS), *, steps: int | None = None) -> list[Row]:
    rows = []
    for app in apps:
        row = Row(app)
        for runtime in RUNTIMES:
            row.runs[runtime] = await certify(app, runtime, steps=steps)
        rows.append(row)
    return rows


GROSS_REGRESSION = 0.5
"""Ours below this fraction of 0.10's sequential steps/s is a regression whatever the noise (speed
targets are `make bench`'s: one sequential client on a shared machine varies more than that)."""


def shortfalls(theirs: Run, ours: Run, *, transport_capped: AbstractSet[str] = frozenset()) -> list[str]:
    """Where ours does not certify better than 0.10 (empty when it does): more cases passed, fewer
    MUST failures, none that 0.10 passes (but `transport_capped`: failures of a transport that is not
    ours), and no gross slow-down."""
    problems = []
    if ours.passed <= theirs.passed:
        problems.append(f"passes {ours.passed} cases, 0.10 {theirs.passed}")
    regressions = set(ours.must_failures) - set(theirs.must_failures) - set(transport_capped)
    if regressions:
        problems.append(f"fails MUSTs that 0.10 passes: {sorted(regressions)}")
    if len(ours.must_failures) >= len(theirs.must_failures):
        problems.append(f"fails {len(ours.must_failures)} MUSTs, 0.10 {len(theirs.must_failures)}")
    if ours.steps_per_s <= GROSS_REGRESSION * theirs.steps_per_s:
        problems.append(f"{ours.steps_per_s:,.0f} steps/s against 0.10's {theirs.steps_per_s:,.0f}")
    return problems


def markdown(rows: Sequence[Row]) -> str:
    """The table for the closing note: outcome counts and steps/s on both runtimes."""
    lines = [
        "| environment | 0.10: pass / fail+error (MUST) / other | 0.10 steps/s "
        "| ours: pass / fail+error (MUST) / other | ours steps/s | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = []
        for runtime in RUNTIMES:
            run = row.runs[runtime]
            other = sum(run.outcomes.values()) - run.passed - len(run.must_failures)
            cells.append(f"{run.passed} / {len(run.must_failures)} / {other} | {run.steps_per_s:,.0f}")
        speedup = row.runs["ours"].steps_per_s / row.runs["openenv010"].steps_per_s
        lines.append(f"| {row.app} | {cells[0]} | {cells[1]} | {speedup:.1f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.side_by_side", description=__doc__.split("\n")[0])
    parser.add_argument("apps", nargs="*", help=f"apps among {sorted(LEGACY_APPS)} (default: all)")
    parser.add_argument("--steps", type=int, default=None, help="measured steps per app (default: per app)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = asyncio.run(compare(args.apps or tuple(LEGACY_APPS), steps=args.steps))
    print(markdown(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
