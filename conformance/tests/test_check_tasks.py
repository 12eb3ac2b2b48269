"""The `tasks` profile (checks/tasks.py) against real servers on loopback: every check PASSes on the
fake server's taskset and on the reference servers that have one (everything, python_exec_env's
task mode), is UNIMPLEMENTED where there is none, and each deliberately broken Task API or reset
is caught (tests/fake_server.py faults)."""

from __future__ import annotations

import pytest
from fake_server import FakeServer
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.registry import all_checks

from conftest import assert_fault_caught, fast_options, reference_outcomes

TASK_CHECKS = {cid for cid, spec in all_checks().items() if spec.profile == "tasks"}
CONTROL = {"core.reset.envelope", "core.state.envelope", "tasks.ids"}

# fault → {check id: outcome it must produce}
CAUGHT: dict[str, dict[str, Outcome]] = {
    "tasks_declared_not_served": {"tasks.api.routes": Outcome.FAIL, "tasks.metadata": Outcome.FAIL},
    "task_criteria_leak": {"tasks.api.routes": Outcome.FAIL},
    "task_ids_unstable": {"tasks.ids": Outcome.FAIL},
    "task_id_ignored": {"tasks.reset.by_id": Outcome.FAIL},
    "unknown_task_fallback": {"tasks.reset.unknown": Outcome.FAIL, "tasks.reset.by_id": Outcome.PASS},
    "task_seed_random": {"tasks.reset.seeded": Outcome.NON_STRICT},  # a SHOULD (OE-TASK-003)
    "task_api_lenient": {"tasks.api.bad_requests": Outcome.FAIL, "tasks.api.routes": Outcome.PASS},
    "taskset_miscounted": {"tasks.metadata": Outcome.FAIL},
}
SPILL_OVER = {"tasks_declared_not_served": {"tasks.ids"}, "task_criteria_leak": {"tasks.ids"},
              "task_ids_unstable": {"tasks.ids"}}  # fmt: skip
"""Control checks a fault legitimately breaks too (they list the tasks)."""


@pytest.mark.parametrize("fault", sorted(CAUGHT))
async def test_fault_is_caught(fault: str) -> None:
    await assert_fault_caught(fault, CAUGHT[fault], CONTROL, SPILL_OVER.get(fault, set()))


async def test_the_fake_taskset_passes_with_one_session_at_a_time() -> None:
    with FakeServer(max_sessions=1) as srv:
        report = await arun_suite(srv.base_url, profiles="tasks", options=fast_options())
    assert {c.id: (c.outcome, c.message) for c in report.cases if c.outcome is not Outcome.PASS} == {}
    assert {c.id for c in report.cases} == TASK_CHECKS


@pytest.mark.parametrize("app", ["everything.server:app", "python_exec_env.task_server:app"])
def test_reference_servers_with_a_taskset_pass(app: str) -> None:
    got = reference_outcomes(app, "tasks")
    assert set(got) == TASK_CHECKS
    assert {cid: v for cid, v in got.items() if v[0] is not Outcome.PASS} == {}


def test_a_server_without_a_taskset_is_not_judged() -> None:
    got = reference_outcomes("echo_env.server:app", "tasks")
    assert {outcome for outcome, _ in got.values()} == {Outcome.UNIMPLEMENTED}
    assert all("no taskset" in message for _, message in got.values())
