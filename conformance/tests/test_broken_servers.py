"""Each deliberately broken server is caught by the check meant to catch it, and a correct
server passes every check (no FAIL, no ERROR), v1 included.

The fake servers are real uvicorn/Starlette servers on loopback (tests/fake_server.py)."""

from __future__ import annotations

import pytest
from fake_server import FakeServer
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.frozen_sets import SETS
from openenv_conformance.registry import all_checks

from conftest import assert_fault_caught, fast_options

CONTROL = {"core.ws.upgrade", "core.reset.envelope", "core.state.envelope", "http.health",
           "mcp.ws.tools"}  # fmt: skip
"""MUST checks no single fault below should break."""

# fault → {check id: outcome it must produce}
CAUGHT: dict[str, dict[str, Outcome]] = {
    "wrong_envelope_key": {"core.frames.schema": Outcome.FAIL, "core.step.envelope": Outcome.FAIL},
    "reply_out_of_order": {"core.order.pipelined": Outcome.FAIL},
    "silent_unknown_type": {"core.error.unknown_type": Outcome.FAIL},
    "close_on_invalid_json": {"core.error.invalid_json": Outcome.FAIL},
    "step_count_stuck": {"core.state.step_count": Outcome.FAIL},
    "episode_id_ignored": {  # one defect, one finding: isolation is judged by isolation alone
        "core.state.episode_id_echo": Outcome.FAIL,
        "concurrency.isolation": Outcome.PASS,
    },
    "nondeterministic_seed": {"determinism.same_seed": Outcome.NON_STRICT},
    "capacity_after_upgrade": {
        "concurrency.capacity.before_upgrade": Outcome.NON_STRICT,
        "concurrency.capacity.refused": Outcome.PASS,
    },
    "capacity_not_enforced": {  # a declared limit not honoured is a broken promise: FAIL, not UNIMPLEMENTED
        "concurrency.capacity.refused": Outcome.FAIL,
        "concurrency.capacity.recovery": Outcome.FAIL,
    },
    "schema_too_wide": {  # identical error replies are no evidence of determinism
        "determinism.same_seed": Outcome.ERROR,
    },
    "acts_first": {"http.stateless": Outcome.PASS},  # allowed: not a stateless-HTTP leak
    "binary_closes": {"robustness.binary_frame": Outcome.FAIL},
    "notification_answered": {"http.mcp.notification": Outcome.FAIL},
    "v1_no_id_echo": {"v1.id.echo": Outcome.FAIL},
    "http_declared_not_served": {  # capabilities.http_simulation declared, endpoints missing: FAIL
        "http.reset": Outcome.FAIL,
        "http.step": Outcome.FAIL,
        "http.state": Outcome.FAIL,
    },
    "mcp_declared_no_tools": {  # capabilities.mcp declared, no tools: FAIL
        "mcp.http.tools": Outcome.FAIL,
        "mcp.ws.tools": Outcome.FAIL,
    },
    "modern_no_result_type": {"mcp.modern.discover": Outcome.FAIL},  # MCP 2026-07-28 (RFC 0017)
    "modern_envelope_unchecked": {"mcp.modern.envelope": Outcome.FAIL},
    "notification_batch_answered": {"mcp.notifications": Outcome.FAIL},
    "ws_rpc_wrong_codes": {"mcp.ws.errors": Outcome.FAIL},
    "v1_declared_not_offered": {  # declared in /metadata, not honoured: FAIL, not UNIMPLEMENTED
        "v1.negotiate": Outcome.FAIL,
        "v1.hello": Outcome.FAIL,
    },
}
SPILL_OVER = {"wrong_envelope_key": {"core.reset.envelope"}, "mcp_declared_no_tools": {"mcp.ws.tools"}}
"""Control checks a fault legitimately breaks too."""

NOT_TESTABLE_HERE = {
    "http.openapi.schemathesis",  # run against the real 0.10 server (test_legacy_010.py)
}
UNIMPLEMENTED_ON_CLEAN = {
    "concurrency.idle_timeout",  # idle_timeout_s is 300 s
    "concurrency.mcp_session_expiry",
    "concurrency.mcp_sessions_count",  # no openenv/session/create
    "isolation.session_files",  # declares no per-session files
}


async def test_clean_server_passes_everything(clean_server: FakeServer) -> None:
    only = set(all_checks()) - NOT_TESTABLE_HERE
    report = await arun_suite(clean_server.base_url, options=fast_options(), only=only)
    bad = {c.id: c.message for c in report.cases if c.outcome in (Outcome.FAIL, Outcome.ERROR)}
    assert bad == {}
    unimplemented = {c.id for c in report.cases if c.outcome is Outcome.UNIMPLEMENTED}
    assert unimplemented == UNIMPLEMENTED_ON_CLEAN
    assert report.negotiated_protocol == "openenv.v1"
    # schemathesis did not run: the base level's frozen set is incomplete (never a vacuous PASS)
    assert report.requirement_sets["base"]["missing"] == sorted(NOT_TESTABLE_HERE)
    assert report.verdicts() == {"base": "INCOMPLETE", "v1": "PASS"}
    assert report.passed
    assert {c.id for c in report.cases if c.profile == "v1"} <= {
        c.id for c in report.cases if c.outcome is Outcome.PASS
    }


@pytest.mark.parametrize("fault", sorted(CAUGHT))
async def test_fault_is_caught(fault: str) -> None:
    wanted = CAUGHT[fault]
    report = await assert_fault_caught(fault, wanted, CONTROL, SPILL_OVER.get(fault, set()))
    counted = {check for level in SETS.values() for check in level["checks"]}
    # a FAIL of a counted check fails the run; a check added after the sets froze only reports
    assert not report.passed or all(o is not Outcome.FAIL for c, o in wanted.items() if c in counted)


async def test_single_session_server_is_certified_without_a_cascade() -> None:
    """Most 0.10 environments allow one session: the harness learns the limit from /metadata,
    runs one session at a time (waiting for the slot between cases) and reports the checks that
    need two sessions as UNIMPLEMENTED, saying so, instead of failing them with CAPACITY_REACHED."""
    only = set(all_checks()) - NOT_TESTABLE_HERE
    with FakeServer(max_sessions=1) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), only=only)
    bad = {c.id: c.message for c in report.cases if c.outcome in (Outcome.FAIL, Outcome.ERROR)}
    assert bad == {}
    needs_two = {
        c.id for c in report.cases if c.outcome is Outcome.UNIMPLEMENTED and "concurrent sessions" in c.message
    }
    assert "concurrency.isolation" in needs_two
    assert not any("CAPACITY_REACHED" in c.message for c in report.cases if c.outcome is not Outcome.PASS)
    got = {c.id: c.outcome for c in report.cases}
    assert got["concurrency.capacity.refused"] is Outcome.PASS
    assert got["core.reset.envelope"] is Outcome.PASS
    assert report.passed


async def test_slow_first_reset_sets_the_pace_instead_of_cascading() -> None:
    """A first reset slower than the per-reply timeout (a model loading) is reported once, as
    INFORMATIONAL, and the run adapts its timeout; nothing fails because of it."""
    only = {"core.ws.upgrade", "core.reset.envelope", "core.step.envelope", "core.state.envelope"}
    with FakeServer({"slow_first_reset"}) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(timeout_s=1.0), only=only)
    assert {c.id: c.message for c in report.cases if c.outcome is not Outcome.PASS} == {}
    assert any(n.startswith("INFORMATIONAL: a first reset took") for n in report.notes), report.notes


async def test_one_defect_is_named_once_as_the_root_cause() -> None:
    """`/schema` admits actions the environment rejects: the cases that fail because of it are
    traced to one root cause (a note, and `root_cause` on the consequences)."""
    only = {"core.step.envelope", "core.state.step_count", "core.order.pipelined", "v1.id.echo",
            "core.reset.envelope"}  # fmt: skip
    with FakeServer({"schema_too_wide"}) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), only=only)
    failing = [c for c in report.cases if "got error 'EXECUTION_ERROR'" in c.message]
    assert len(failing) >= 2, [(c.id, c.message) for c in report.cases]
    root = failing[0].id
    assert failing[0].root_cause is None
    assert all(c.root_cause == root for c in failing[1:])
    assert failing[1].to_json()["root_cause"] == root
    assert sum(n.startswith("root cause:") and "EXECUTION_ERROR" in n for n in report.notes) == 1


async def test_invalid_action_fuzzing_still_runs_when_an_action_is_given() -> None:
    """`--action` names a valid action; the schema still says what an invalid one is."""
    options = fast_options(action={"direction": "right", "amount": 1})
    with FakeServer() as srv:
        report = await arun_suite(srv.base_url, options=options, only={"robustness.fuzz.invalid_actions"})
    assert report.cases[0].outcome is Outcome.PASS, report.cases[0].message
