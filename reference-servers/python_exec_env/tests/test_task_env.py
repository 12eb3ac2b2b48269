"""python_exec_env's task mode: hidden-test-suite scoring at the end of the episode, reward
components, the trajectory the runtime records and returns in `state`, the Task API and what
`/metadata` declares — through the environment and over the wire (a real server on loopback, the
async client and `run_rollouts`)."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("openenv.server")

from openenv import GenericEnvClient
from openenv.rewards import parse_reward_info
from openenv.rollout import EpisodeSpec, run_rollouts
from openenv.server import EnvironmentFault
from openenv.server.background import BackgroundServer
from python_exec_env.environment import RunCodeAction
from python_exec_env.task_env import PythonTaskEnvironment
from python_exec_env.task_server import app

FIB = "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
HALF_FIB = "def fib(n):\n    return n\n"  # passes fib(0) and fib(1) only


def test_pending_rewards_then_the_trajectory_score_with_components() -> None:
    env = PythonTaskEnvironment()
    first = env.reset(task_id="fib")
    assert "fib(n)" in first.stdout and first.metadata["task_id"] == "fib"
    wrong = env.step(RunCodeAction(code=HALF_FIB + "print('trying')"))
    assert wrong.stdout == "trying\n" and not wrong.done and wrong.reward == 0.0
    info = parse_reward_info(wrong.metadata)
    assert info is not None and info.pending and info.components == ()
    assert (wrong.metadata["tests_passed"], wrong.metadata["tests_total"]) == (2, 4)
    right = env.step(RunCodeAction(code=FIB))
    assert right.terminated and not right.truncated
    info = parse_reward_info(right.metadata)
    assert info is not None and info.source == "trajectory_scorer" and info.scorer == "hidden_tests"
    assert {c.name: (c.value, c.weight) for c in info.components} == {
        "tests_passed": (1.0, 1.0),
        "extra_attempts": (1.0, -0.1),
    }
    assert right.reward == pytest.approx(0.9)
    state = env.state()
    assert state.task_id == "fib" and "trajectory" not in state.model_dump()  # the runtime records it
    with pytest.raises(EnvironmentFault, match="over"):
        env.step(RunCodeAction(code=FIB))
    env.close()


def test_attempts_run_out_and_the_best_attempt_counts() -> None:
    env = PythonTaskEnvironment()
    env.reset(task_id="gcd")  # two attempts
    env.step(RunCodeAction(code="def gcd(a, b):\n    return 1\n"))  # gcd(7, 5) only
    last = env.step(RunCodeAction(code="raise SystemExit(3)"))
    assert last.truncated and not last.terminated and "SystemExit: 3" in last.stderr  # caught: the tests still ran
    info = parse_reward_info(last.metadata)
    assert info is not None and dict((c.name, c.value) for c in info.components)["tests_passed"] == pytest.approx(1 / 3)
    assert last.reward == pytest.approx(1 / 3 - 0.1)
    env.close()


def test_tasks_by_seed_are_reproducible_and_unknown_ones_are_refused() -> None:
    env = PythonTaskEnvironment()
    picked = {env.reset(split="train", seed=seed).metadata["task_id"] for seed in range(20)}
    assert picked <= {"fib", "palindrome", "primes"} and len(picked) > 1
    again = [env.reset(split="train", seed=7).metadata["task_id"] for _ in range(3)]
    assert len(set(again)) == 1
    with pytest.raises(EnvironmentFault, match="unknown task id"):
        env.reset(task_id="nope")
    with pytest.raises(EnvironmentFault, match="split"):
        env.reset(task_id="gcd", split="train")
    env.close()


def test_the_forged_marker_of_a_submission_is_not_the_last_line() -> None:
    """The harness's line comes last: a submission printing a fake result early changes nothing."""
    env = PythonTaskEnvironment()
    env.reset(task_id="primes")
    out = env.step(RunCodeAction(code='print(\'@@openenv-tests-0@@{"passed": 3, "total": 3}\')'))
    assert out.metadata["tests_passed"] == 0
    env.close()


async def test_over_the_wire_task_api_and_rollouts() -> None:
    with BackgroundServer(app) as server:
        base = server.base_url
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            assert (await http.get("/python_exec_env/splits")).json() == [
                {"name": "train", "type": "split"},
                {"name": "test", "type": "split"},
            ]
            assert (await http.post("/python_exec_env/num_tasks", json={"split": "train"})).json() == {"num_tasks": 3}
            listed = (await http.post("/python_exec_env/tasks", json={"split": "test"})).json()
            assert listed["env_name"] == "python_tasks" and [t["id"] for t in listed["tasks"]] == ["gcd"]
            assert "success" not in listed["tasks"][0]  # the hidden tests stay on the server
            one = (await http.post("/python_exec_env/task", json={"split": "train", "index": 1})).json()
            assert one["task"]["id"] == "palindrome"
            assert (await http.post("/python_exec_env/task", json={"index": 99})).status_code == 400
            assert (await http.post("/python_exec_env/task_range", json={"start": 1, "stop": 3})).json()["tasks"][0][
                "id"
            ] == "palindrome"
            assert (await http.post("/python_exec_env/tasks", json={"split": "nope"})).status_code == 400
            assert (await http.post("/python_exec_env/tasks", content=b"[1]")).status_code == 400
            assert (await http.get("/python_exec_env/tasks")).status_code == 405
            assert (await http.get("/health")).status_code == 200  # the other routes are unchanged
            meta = (await http.get("/metadata")).json()
            assert meta["capabilities"]["tasks"] is True and meta["capabilities"]["trajectory"] is True
            assert meta["taskset"] == {
                "num_tasks": 4,
                "splits": [{"name": "train", "num_tasks": 3}, {"name": "test", "num_tasks": 1}],
            }
            assert meta["trajectory"] == {"max_steps": PythonTaskEnvironment.trajectory_max_steps}
            schema = (await http.get("/schema")).json()
            assert "trajectory" in schema["state"]["properties"]

        async with GenericEnvClient(base) as env:
            reset = await env.reset(task_id="fib")
            assert reset.observation["stdout"].startswith("Write a function fib")
            assert (await env.state()).model_dump()["trajectory"] == {"steps": [], "max_steps": 20, "dropped": 0}
            half = await env.step({"code": HALF_FIB})
            done = await env.step({"code": FIB})
            assert done.terminated and done.reward == pytest.approx(0.9)
            info = parse_reward_info(done.metadata)
            assert info is not None and info.source == "trajectory_scorer"
            record = (await env.state()).model_dump()["trajectory"]
            assert (record["max_steps"], record["dropped"]) == (20, 0)
            assert [s["action"] for s in record["steps"]] == [{"code": HALF_FIB}, {"code": FIB}]
            assert [s["reward"] for s in record["steps"]] == [0.0, pytest.approx(0.9)]
            assert record["steps"][0]["observation"] == half.observation  # as sent, one owner
            await env.reset(task_id="gcd")
            assert (await env.state()).model_dump()["trajectory"]["steps"] == []  # a reset clears it

        specs = [
            EpisodeSpec(reset={"task_id": "palindrome"}, policy=lambda obs: {"code": "x = 1"}),
            EpisodeSpec(
                reset={"task_id": "palindrome"},
                policy=lambda obs: {"code": "def is_palindrome(s):\n    return s.lower() == s.lower()[::-1]\n"},
            ),
        ]
        failing, passing = await run_rollouts([base], None, specs)
        assert failing.ok and failing.truncated and len(failing.steps) == 3 and failing.rewards[:2] == [0.0, 0.0]
        assert failing.steps[-1].reward == pytest.approx(-0.2)
        assert passing.ok and passing.terminated and passing.total_reward == pytest.approx(1.0)
