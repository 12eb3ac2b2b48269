"""`RayProvider` and an `EnvPool` on a real local multi-node Ray cluster (`make test-ray`, `.venv-ray`).

The fixture starts a head node and a second node on this machine with `local_cluster` (`ray start
--block`, 2 CPUs each, 80 MB object stores) and always tears both down (SIGTERM to the `ray start`
processes it started, then SIGKILL to their process groups). Without Ray installed the module is skipped, unless
`OPENENV_REQUIRE_RAY=1` (set by `make test-ray`) makes that a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("OPENENV_REQUIRE_RAY") != "1":
    pytest.importorskip("ray")
import ray
from openenv.errors import SessionLostError
from openenv.pool import EnvPool
from openenv.providers.ray import RayProvider, local_cluster, remote_pool

SDK_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": str(SDK_ROOT), "RAY_USAGE_STATS_ENABLED": "0"}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    with local_cluster(2, cpus_per_node=2, runtime_env=RUNTIME_ENV) as running:
        yield {"address": running.address, "nodes": set(running.node_ids), "second": running.node_ids[1]}
    # torn down: every process the cluster started is gone
    assert all(p.poll() is not None for p in running.processes)


def provider(**options: Any) -> RayProvider:
    return RayProvider("tests.pool.apps:line4", num_cpus=0.25, runtime_env=RUNTIME_ENV, **options)


def right() -> dict[str, object]:
    return {"direction": "right", "amount": 1}


def test_strict_spread_places_replicas_on_distinct_nodes(cluster: dict[str, Any]) -> None:
    spread = provider(strategy="STRICT_SPREAD", bundles=2)
    servers = [spread.start(), spread.start()]
    try:
        assert {s.node_id for s in servers} == cluster["nodes"]
        from openenv import GenericSyncEnvClient

        for server in servers:
            with GenericSyncEnvClient(server.base_url) as env:
                env.reset()
                assert env.step(right()).observation["position"] == 1
        with pytest.raises(Exception, match="bundles"):
            spread.start()  # both bundles hold a replica
        servers.pop().stop()
        servers.append(spread.start())  # a freed bundle takes a new replica
    finally:
        for server in servers:
            server.stop()
        spread.close()
    with pytest.raises(ValueError, match="bundles"):
        RayProvider("x:y", strategy="STRICT_PACK")


async def test_pool_recovers_after_a_nodes_actors_are_killed(cluster: dict[str, Any]) -> None:
    async with EnvPool(provider(strategy="SPREAD"), replicas=4, health_interval_s=0.25) as pool:
        servers = [slot.server for slot in pool.book.replicas]
        assert {s.node_id for s in servers} == cluster["nodes"]  # SPREAD used both nodes
        sessions = [await pool.open_session() for _ in range(8)]
        for env in sessions:
            await env.reset()
            await env.step(right())
        doomed = {s.base_url for s in servers if s.node_id == cluster["second"]}
        assert doomed
        killed = time.monotonic()
        for server in servers:
            if server.node_id == cluster["second"]:
                os.kill(server.pid, signal.SIGKILL)  # the node's actors die; their servers with them
        lost = 0
        for env in sessions:
            if env.base_url in doomed:
                with pytest.raises(SessionLostError):
                    await env.step(right())
                lost += 1
            else:
                assert (await env.step(right())).observation["position"] == 2
        detected = time.monotonic() - killed
        for _ in range(600):
            if pool.metrics().replacements >= len(doomed):
                break
            await asyncio.sleep(0.05)
        recovered = time.monotonic() - killed
        metrics = pool.metrics()
        assert metrics.replacements == len(doomed) and metrics.sessions_lost == lost
        assert all(r.healthy for r in metrics.replicas)
        sys.stderr.write(f"ray: detected in {detected:.2f} s, recovered in {recovered:.2f} s\n")
        assert detected < 2.0
        fresh = [await pool.open_session() for _ in range(4)]
        for env in fresh:
            assert (await env.reset()).observation["position"] == 0
        for env in sessions + fresh:
            await env.close()


def test_ray_tasks_step_environments_through_a_remote_pool(cluster: dict[str, Any]) -> None:
    pool = remote_pool(provider(), replicas=2, health_interval_s=0.25)
    try:

        @ray.remote(num_cpus=0.1)
        def rollout(pool: Any, steps: int) -> int:
            key = ray.get(pool.open.remote())
            try:
                ray.get(pool.reset.remote(key, seed=1))
                position = 0
                for _ in range(steps):
                    position = ray.get(pool.step.remote(key, {"direction": "right", "amount": 1})).observation[
                        "position"
                    ]
                return int(position)
            finally:
                ray.get(pool.close_session.remote(key))

        assert ray.get([rollout.remote(pool, 5) for _ in range(6)], timeout=120) == [5] * 6
        metrics = ray.get(pool.metrics.remote())
        assert metrics["sessions_created"] == 6 and metrics["sessions_open"] == 0
        assert json.dumps(metrics)
    finally:
        ray.get(pool.shutdown.remote())
        ray.kill(pool)
