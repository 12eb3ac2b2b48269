"""The `rewards` profile (checks/rewards.py) against real servers on loopback: PASS on the fake
server (step components, a task scored at the end, a record of three steps) and on the reference
servers that have these features (everything, python_exec_env's task mode), UNIMPLEMENTED where
there are none, and each deliberately broken reward or record is caught (tests/fake_server.py)."""

from __future__ import annotations

import pytest
from fake_server import FakeServer
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.registry import all_checks

from conftest import fast_options, reference_outcomes

REWARD_CHECKS = {cid for cid, spec in all_checks().items() if spec.profile == "rewards"}

CAUGHT: dict[str, dict[str, Outcome]] = {
    "reward_sum_wrong": {"rewards.reward_info": Outcome.FAIL, "rewards.pending": Outcome.PASS},
    "pending_nonzero": {"rewards.pending": Outcome.FAIL, "rewards.reward_info": Outcome.PASS},
    "trajectory_unbounded": {"rewards.trajectory": Outcome.FAIL, "rewards.reward_info": Outcome.PASS},
    # a broken Task API is the tasks profile's finding: the probe episodes go on without tasks
    "tasks_declared_not_served": {"rewards.reward_info": Outcome.PASS, "rewards.trajectory": Outcome.PASS},
}


@pytest.mark.parametrize("fault", sorted(CAUGHT))
async def test_fault_is_caught(fault: str) -> None:
    wanted = CAUGHT[fault]
    with FakeServer({fault}) as srv:
        report = await arun_suite(srv.base_url, options=fast_options(), only=set(wanted))
    got = {c.id: c.outcome for c in report.cases}
    assert got == wanted, report.to_json()["cases"]


async def test_the_fake_server_passes_with_one_session_at_a_time() -> None:
    with FakeServer(max_sessions=1) as srv:
        report = await arun_suite(srv.base_url, profiles="rewards", options=fast_options())
    assert {c.id: (c.outcome, c.message) for c in report.cases} == {
        "rewards.reward_info": (Outcome.PASS, "12 observations with reward_info in 4 episodes"),
        "rewards.pending": (Outcome.PASS, "1 trajectory score(s), the same on a replay"),
        "rewards.trajectory": (Outcome.PASS, "played 4 steps, past the bound 3: the oldest were dropped and counted"),
    }


@pytest.mark.parametrize("app", ["everything.server:app", "python_exec_env.task_server:app"])
def test_reference_servers_with_rewards_and_records_pass(app: str) -> None:
    got = reference_outcomes(app, "rewards")
    assert set(got) == REWARD_CHECKS
    assert {cid: v for cid, v in got.items() if v[0] is not Outcome.PASS} == {}
    if app.startswith("everything"):  # its bound (4) is small: the harness played past it
        assert "past the bound 4" in got["rewards.trajectory"][1]


def test_a_server_without_them_is_not_judged() -> None:
    got = reference_outcomes("echo_env.server:app", "rewards")
    assert {outcome for outcome, _ in got.values()} == {Outcome.UNIMPLEMENTED}
