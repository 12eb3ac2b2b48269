"""Every environment of ``interop/legacy_envs/`` — written for 0.10 — certified on 0.10 and, unchanged, on ours.

For each app, the same module is served by the real ``openenv==0.10.0`` (``.venv-openenv010``) and
by our runtime (``.venv-compat``), and each server is certified by the conformance suite and timed
(sequential steps/s over one base-level session). On ours the app must pass more cases than on
0.10, fail no MUST that 0.10 passes, fail fewer MUSTs, and not be slower (an environment that spends
its step in a child process is bounded by that process, and on a loaded machine the two are within
noise of each other: there ours must keep at least half). The
table of both runs is written to ``reports/compat-side-by-side.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from interop import legacy_server
from interop.side_by_side import RUNTIMES, Row, certify, markdown

REPORT = Path(__file__).resolve().parents[2] / "reports" / "compat-side-by-side.json"
PROCESS_BOUND = {"code_exec"}
_ROWS: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def _peers() -> None:
    for python in (legacy_server.LEGACY_PYTHON, legacy_server.COMPAT_PYTHON):
        if not python.exists():
            pytest.skip(f"{python} missing: run `make venv-openenv010 venv-compat`")


@pytest.mark.parametrize("app", list(legacy_server.LEGACY_APPS))
async def test_runs_unchanged_on_ours_and_certifies_better(app: str) -> None:
    row = Row(app)
    for runtime in RUNTIMES:
        row.runs[runtime] = await certify(app, runtime)
    _ROWS.append(row)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps([asdict(r) for r in _ROWS], indent=2) + "\n")
    print("\n" + markdown([row]))
    theirs, ours = row.runs["openenv010"], row.runs["ours"]
    assert ours.passed > theirs.passed
    assert set(ours.must_failures) <= set(theirs.must_failures), "a MUST that 0.10 passes fails on ours"
    assert len(ours.must_failures) < len(theirs.must_failures)
    floor = 0.5 if app in PROCESS_BOUND else 1.0
    assert ours.steps_per_s > floor * theirs.steps_per_s
