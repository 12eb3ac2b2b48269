"""`isolation.session_files` (checks/isolation.py) against real servers on loopback: PASS where
files stay per session (a small environment and the python_exec_env sandbox), FAIL where they are
shared, NON-STRICT for an unusable recipe, UNIMPLEMENTED where nothing is declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from openenv.providers import LocalProcessProvider
from openenv_conformance import Outcome, run_suite
from openenv_conformance.checks.isolation import recipe, with_marker
from openenv_conformance.verdicts import Fail

from conftest import fast_options

HERE = Path(__file__).resolve().parent
SERVERS = HERE.parents[1] / "reference-servers"
CHECK = "isolation.session_files"


def _outcome(app: str, cwd: Path) -> tuple[Outcome, str]:
    server = LocalProcessProvider(app, cwd=str(cwd)).start()
    try:
        report = run_suite(server.base_url, profiles="isolation", options=fast_options(timeout_s=30.0), only={CHECK})
    finally:
        server.stop()
    (case,) = [c for c in report.cases if c.id == CHECK]
    return case.outcome, case.message


@pytest.mark.parametrize(
    ("app", "outcome", "message"),
    [
        ("session_files_envs:private_app", Outcome.PASS, "markers stayed"),
        ("session_files_envs:shared_app", Outcome.FAIL, "session B read the marker"),
        ("session_files_envs:blind_app", Outcome.NON_STRICT, "cannot read back its own marker"),
    ],
)
def test_session_files_outcomes(app: str, outcome: Outcome, message: str) -> None:
    got, text = _outcome(app, HERE)
    assert got is outcome, text
    assert message in text


def test_python_exec_env_keeps_files_per_session() -> None:
    got, text = _outcome("python_exec_env.server:app", SERVERS)
    assert got is Outcome.PASS, text


def test_echo_env_declares_nothing() -> None:
    got, text = _outcome("echo_env.server:app", SERVERS)
    assert got is Outcome.UNIMPLEMENTED, text


def test_recipe_parsing() -> None:
    assert recipe({"type": "object"}) is None
    write, read = recipe({"x-openenv-session-files": {"write": {"t": "{marker}"}, "read": {}}}) or ({}, {})
    assert with_marker(write, "m1") == {"t": "m1"} and read == {}
    assert with_marker({"a": ["x{marker}", 3]}, "m") == {"a": ["xm", 3]}
    for bad in ([], {"write": {}}, {"write": {"t": "no placeholder"}, "read": {}}):
        with pytest.raises(Fail):
            recipe({"x-openenv-session-files": bad})
