"""`RayProvider` and an `EnvPool` on a real local multi-node Ray cluster (`make test-ray`, `.venv-ray`).

The fixture starts a head node and a second node on this machine (`ray start --block`, 2 CPUs
each, 80 MB object stores) and always tears both down (SIGTERM to the `ray start` processes it
started, then SIGKILL to their process groups). Without Ray installed the module is skipped, unless
`OPENENV_REQUIRE_RAY=1` (set by `make test-ray`) makes that a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
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
from openenv.providers.base import free_port
from openenv.providers.ray import RayProvider, remote_pool

SDK_ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": str(SDK_ROOT), "RAY_USAGE_STATS_ENABLED": "0"}}
NODE = ["--num-cpus=2", "--object-store-memory=80000000", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]


def _start(args: list[str], log: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen(
        [RAY, "start", "--block", *args], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryFile() as log:
        try:
            processes.append(_start(["--head", f"--port={port}", "--include-dashboard=false", *NODE], log))
            address = f"127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while subprocess.run([RAY, "status", f"--address={address}"], capture_output=True).returncode != 0:
                assert processes[0].poll() is None and time.monotonic() < deadline, "the head node did not start"
                time.sleep(0.5)
            processes.append(_start([f"--address={address}", '--resources={"second_node": 1}', *NODE], log))
            ray.init(address=address, runtime_env=RUNTIME_ENV, log_to_driver=False)
            while len([n for n in ray.nodes() if n["Alive"]]) < 2:
                assert processes[1].poll() is None and time.monotonic() < deadline, "the second node did not join"
                time.sleep(0.5)
            nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
            second = next(k for k, v in nodes.items() if "second_node" in v)
            yield {"address": address, "nodes": set(nodes), "second": second}
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            with contextlib.suppress(Exception):
                ray.shutdown()
            for process in reversed(processes):
                _stop(process)


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
