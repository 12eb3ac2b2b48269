"""Shared fixtures for the harness self-tests: the fake server (tests/fake_server.py) and fast
run options. The directory is put on sys.path so the tests can import `fake_server`."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Set
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_server import FakeServer
from openenv.providers import LocalProcessProvider
from openenv_conformance import Outcome, Report, RunOptions, arun_suite, run_suite

SERVERS = Path(__file__).resolve().parents[2] / "reference-servers"


def fast_options(**overrides: object) -> RunOptions:
    """Short timeouts and small counts so every run stays quick."""
    base = {"timeout_s": 2.0, "budget_s": 120.0, "sessions": 2, "perf_steps": 20,
            "fuzz_examples": 8, "schemathesis_examples": 5,
            "schemathesis_phases": "coverage",
            "schemathesis_paths": "^/(reset|step|state|{env_name}/splits)$"}  # fmt: skip
    base.update(overrides)
    return RunOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean_server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


def reference_outcomes(app: str, profiles: str) -> dict[str, tuple[Outcome, str]]:
    """Run `profiles` against a reference server (`module:app` under reference-servers/), started
    in its own process: each case's outcome and message."""
    server = LocalProcessProvider(app, cwd=str(SERVERS)).start()
    try:
        report = run_suite(server.base_url, profiles=profiles, options=fast_options(timeout_s=30.0))
    finally:
        server.stop()
    return {c.id: (c.outcome, c.message) for c in report.cases}


async def assert_fault_caught(
    fault: str, wanted: dict[str, Outcome], control: Set[str], spill_over: Set[str] = frozenset()
) -> Report:
    """Run the `wanted` checks and the `control` checks against the fake server broken by `fault`:
    each wanted check gives its outcome, and every control check (but those in `spill_over`, which
    the fault legitimately breaks too) PASSes. The report, for further assertions."""
    with FakeServer({fault}) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), only=set(wanted) | set(control))
    got = {c.id: c.outcome for c in report.cases}
    for check_id, outcome in wanted.items():
        assert got[check_id] is outcome, (check_id, report.to_json()["cases"])
    spurious = {
        c.id: c.message
        for c in report.cases
        if c.id in set(control) - set(spill_over) - set(wanted) and c.outcome is not Outcome.PASS
    }
    assert spurious == {}
    return report
