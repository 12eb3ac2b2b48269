"""`determinism.same_seed` ignores the observation members `/schema` marks volatile (OE-HTTP-027)
and still finds the ones it does not (real servers on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openenv.providers import LocalProcessProvider
from openenv_conformance.checks.determinism import volatile_members
from openenv_conformance.model import Outcome
from openenv_conformance.runner import run_suite

from conftest import fast_options

HERE = Path(__file__).resolve().parent
CHECK = "determinism.same_seed"


@pytest.mark.parametrize(
    ("app", "outcome"),
    [("volatile_envs:marked_app", Outcome.PASS), ("volatile_envs:unmarked_app", Outcome.NON_STRICT)],
)
def test_volatile_members(app: str, outcome: Outcome) -> None:
    server = LocalProcessProvider(app, cwd=str(HERE)).start()
    try:
        report = run_suite(server.base_url, profiles="determinism", options=fast_options(), only={CHECK})
    finally:
        server.stop()
    (case,) = [c for c in report.cases if c.id == CHECK]
    assert case.outcome is outcome, case.message
    if outcome is Outcome.NON_STRICT:
        assert "took_ns" in case.message


def test_volatile_members_reads_refs_and_ignores_unmarked() -> None:
    doc = {
        "observation": {
            "$ref": "#/$defs/Obs",
            "$defs": {"Obs": {"properties": {"t": {"x-openenv-nondeterministic": True}, "v": {"type": "integer"}}}},
        }
    }
    assert volatile_members(doc) == {"t"}
    assert volatile_members({"observation": {"properties": {"t": {"x-openenv-nondeterministic": "yes"}}}}) == set()
    assert volatile_members(None) == set()


def test_declared_nondeterminism_is_not_judged() -> None:
    """An environment that declares `capabilities.deterministic: false` (OE-HTTP-028) — our SDK
    says so for `deterministic = False` — is UNIMPLEMENTED, not NON-STRICT, for the same timings."""
    server = LocalProcessProvider("volatile_envs:live_app", cwd=str(HERE)).start()
    try:
        report = run_suite(server.base_url, profiles="determinism", options=fast_options(), only={CHECK})
    finally:
        server.stop()
    (case,) = [c for c in report.cases if c.id == CHECK]
    assert case.outcome is Outcome.UNIMPLEMENTED and "deterministic: false" in case.message
