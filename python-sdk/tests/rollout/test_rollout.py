"""`run_rollouts` against real servers on loopback: a list of URLs, an `EnvPool`, and every way an
episode can end — terminated, truncated by the env or by the client, a policy error, a remote
error, a refused server, an episode timeout — without losing the batch."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from openenv.errors import ExecutionError
from openenv.pool import EnvPool
from openenv.providers import LocalProcessProvider
from openenv.rollout import EpisodeSpec, Trajectory, UrlSessions, run_rollouts, run_rollouts_sync

SDK_ROOT = Path(__file__).resolve().parents[2]


def right(_: Any) -> dict[str, Any]:
    return {"direction": "right", "amount": 1}


async def async_left(_: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"direction": "left", "amount": 2}


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_batch_over_two_urls_terminates_every_episode(serve) -> None:
    servers = [serve(), serve()]
    urls = [s.base_url for s in servers]
    trajectories = await run_rollouts(urls, right, [{"seed": n} for n in range(6)], concurrency=3)
    assert [t.index for t in trajectories] == list(range(6))
    assert {t.source for t in trajectories} == set(urls)  # round-robin over both servers
    for n, t in enumerate(trajectories):
        assert t.ok and t.terminated and not t.truncated and t.truncated_by is None
        assert t.reset_args == {"seed": n} and t.initial_observation["metadata"] == {"seed": n}
        assert len(t.steps) == 10 and [s.observation["position"] for s in t.steps] == list(range(1, 11))
        assert t.rewards == [-0.01] * 9 + [1.0]
        assert t.total_reward == pytest.approx(0.91)
        assert all(s.env_s > 0 and s.policy_s >= 0 for s in t.steps)
        assert t.session_id and t.wall_s > 0
        assert json.loads(json.dumps(t.to_dict()))["steps"][9]["terminated"] is True


async def test_truncation_by_the_env_and_by_the_client(serve) -> None:
    url = serve().base_url
    by_env, by_client = await run_rollouts(
        [url],
        None,
        [
            EpisodeSpec(policy=lambda obs: {"direction": "right", "amount": 0}),  # 20 steps: env truncates
            EpisodeSpec(policy=async_left, max_steps=3),
        ],
    )
    assert by_env.ok and by_env.truncated and by_env.truncated_by == "env" and not by_env.terminated
    assert len(by_env.steps) == 20
    assert by_client.ok and by_client.truncated and by_client.truncated_by == "client"
    assert [s.observation["position"] for s in by_client.steps] == [-2, -4, -6]


async def test_failed_episodes_come_back_with_their_error_and_the_batch_survives(serve) -> None:
    url = serve().base_url

    def explodes(obs: dict[str, Any]) -> dict[str, Any]:
        if obs["position"] == 2:
            raise RuntimeError("policy bug")
        return right(obs)

    specs = [
        EpisodeSpec(policy=explodes, tag="policy"),
        EpisodeSpec(policy=lambda obs: {"direction": "right", "amount": 1, "fault": "raise"}, tag="remote"),
        EpisodeSpec(policy=right, tag="fine"),
    ]
    policy_bug, remote, fine = await run_rollouts([url], None, specs, concurrency=3)
    assert policy_bug.error is not None and policy_bug.error.type == "RuntimeError" and policy_bug.error.step == 2
    assert len(policy_bug.steps) == 2 and policy_bug.tag == "policy"
    assert remote.error is not None and remote.error.code == ExecutionError.code and remote.error.step == 0
    assert fine.ok and fine.terminated

    refused = await run_rollouts(UrlSessions([dead_url()], connect_timeout_s=2), right, 2)
    assert all(t.error is not None and t.error.type == "ConnectError" and t.error.step is None for t in refused)


async def test_a_server_at_capacity_is_waited_for_not_failed(serve) -> None:
    url = serve(max_sessions=1).base_url  # one session at a time, four episodes at once
    waited = await run_rollouts([url], right, 4, concurrency=4)
    assert all(t.ok and t.terminated and len(t.steps) == 10 for t in waited), [t.error for t in waited]
    impatient = await run_rollouts(UrlSessions([url], capacity_wait_s=0), right, 4, concurrency=4)
    refused = [t for t in impatient if not t.ok]
    assert refused and all(t.error is not None and t.error.code == "CAPACITY_REACHED" for t in refused)
    assert all(t.error.step is None and not t.steps for t in refused if t.error is not None)  # never started


async def test_an_episode_past_its_timeout_ends_with_an_error_and_closes_its_session(serve) -> None:
    server = serve()

    def hang(_: Any) -> dict[str, Any]:
        return {"direction": "right", "amount": 1, "fault": "hang"}

    quick = EpisodeSpec(policy=right)
    stuck, done = await run_rollouts([server.base_url], None, [EpisodeSpec(policy=hang), quick], episode_timeout_s=0.5)
    assert stuck.error is not None and stuck.error.type == "EpisodeTimeout" and stuck.error.step == 0
    assert 0.5 <= stuck.wall_s < 3
    assert done.ok and done.terminated


def test_sync_entry_point_and_bad_arguments(serve) -> None:
    url = serve().base_url
    (only,) = run_rollouts_sync([url], right, 1, max_steps=4)
    assert isinstance(only, Trajectory) and only.truncated_by == "client" and len(only.steps) == 4
    with pytest.raises(ValueError, match="concurrency"):
        run_rollouts_sync([url], right, 1, concurrency=0)
    with pytest.raises(ValueError, match="no policy"):
        run_rollouts_sync([url], None, 1)
    with pytest.raises(ValueError, match="urls"):
        UrlSessions([])


async def test_episodes_through_an_env_pool() -> None:
    provider = LocalProcessProvider("tests.pool.apps:line4", cwd=str(SDK_ROOT))
    async with EnvPool(provider, replicas=2) as pool:
        trajectories = await run_rollouts(pool, right, 12, concurrency=8)
        assert all(t.ok and t.terminated and len(t.steps) == 10 for t in trajectories)
        assert {t.source for t in trajectories} == set(pool.urls)
        assert len({t.session_id for t in trajectories}) == 12 and all(t.session_id for t in trajectories)
        metrics = pool.metrics()
        assert metrics.sessions_open == 0 and metrics.sessions_created == metrics.sessions_closed == 12
