"""Every environment of ``interop/legacy_envs/`` — written for 0.10 — certified on 0.10 and, unchanged, on ours.

For each app, the same module is served by the real ``openenv==0.10.0`` (``.venv-openenv010``) and
by our runtime (``.venv-compat``), and each server is certified by the conformance suite and timed
(sequential steps/s over one base-level session). On ours the app must pass more cases than on
0.10, fail no MUST that 0.10 passes and fail fewer MUSTs. Speed is measured and printed, not judged
here beyond a guard against a gross regression (at least half of 0.10's steps/s): one sequential
client on a shared machine varies by more than the difference between the runtimes, so speed
targets belong to ``make bench`` (house standard: benchmarks, not timed tests). The table of both
runs is written to ``reports/compat-side-by-side.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from interop import legacy_server
from interop.side_by_side import RUNTIMES, Row, Run, certify, markdown, shortfalls

REPORT = Path(__file__).resolve().parents[2] / "reports" / "compat-side-by-side.json"
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
    assert shortfalls(row.runs["openenv010"], row.runs["ours"]) == []


def test_shortfalls_name_each_way_ours_can_fall_short() -> None:
    theirs = Run({"PASS": 50}, ["a", "b"], 1000.0, 1.0)
    assert shortfalls(theirs, Run({"PASS": 80}, ["a"], 900.0, 1.0)) == []
    assert len(shortfalls(theirs, Run({"PASS": 50}, ["a"], 900.0, 1.0))) == 1  # no more cases passed
    assert "MUSTs that 0.10 passes: ['c']" in shortfalls(theirs, Run({"PASS": 80}, ["c"], 900.0, 1.0))[0]
    assert shortfalls(theirs, Run({"PASS": 80}, ["c"], 900.0, 1.0), transport_capped={"c"}) == []
    assert shortfalls(theirs, Run({"PASS": 80}, ["a", "b"], 900.0, 1.0)) == ["fails 2 MUSTs, 0.10 2"]
    assert shortfalls(theirs, Run({"PASS": 80}, [], 400.0, 1.0)) == ["400 steps/s against 0.10's 1,000"]
