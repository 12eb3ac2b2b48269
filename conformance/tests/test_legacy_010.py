"""The harness against the REAL openenv 0.10.0 server (echo and typed envs, run in
.venv-openenv010): the run passes with conformance/expected-failures/openenv-0.10.yaml, i.e. it
fails exactly the listed MUSTs and no listed entry is stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.expected import applicable, load_expected_failures
from openenv_conformance.registry import all_checks

from conftest import fast_options

legacy_server = pytest.importorskip("interop.legacy_server")

EXPECTED = Path(__file__).resolve().parents[1] / "expected-failures" / "openenv-0.10.yaml"
NAMES = {"echo": "EchoEnvironment", "typed": "LineEnvironment"}


@pytest.mark.parametrize("app", ["echo", "typed"])
async def test_legacy_010_fails_only_the_listed_musts(app: str) -> None:
    if not legacy_server.LEGACY_PYTHON.exists():
        pytest.skip("the openenv 0.10.0 peer is not installed (make venv-openenv010)")
    only = None if app == "echo" else set(all_checks()) - {"http.openapi.schemathesis"}
    with legacy_server.start_legacy_server(app, max_sessions=2) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), expected_failures=EXPECTED, only=only)
    entries = load_expected_failures(EXPECTED, all_checks())
    listed = applicable(entries, NAMES[app])
    behavioural = {e.id for e in entries if e.when_failing}  # excused where the env shows the defect
    failed = {c.id for c in report.cases if c.outcome is Outcome.FAIL}
    errors = {c.id: c.message for c in report.cases if c.outcome is Outcome.ERROR}
    assert errors == {}
    assert failed - behavioural == set(listed) & {c.id for c in report.cases}
    assert all(c.expected_failure for c in report.cases if c.outcome is Outcome.FAIL)
    assert report.passed, report.to_json()["summary"]
    assert report.negotiated_protocol is None
    assert report.verdicts()["v1"] == "UNIMPLEMENTED"
    assert all(c.outcome is Outcome.UNIMPLEMENTED for c in report.cases if c.profile == "v1")
