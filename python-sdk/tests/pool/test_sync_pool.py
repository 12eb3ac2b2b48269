"""`SyncEnvPool` against real servers in child processes: placement, faults, threads, drain."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from openenv.errors import SessionLostError
from openenv.pool import NoHealthyReplicaError, PoolClosedError, SyncEnvPool
from openenv.providers import LocalProcessProvider

SDK_ROOT = Path(__file__).resolve().parents[2]


def provider() -> LocalProcessProvider:
    return LocalProcessProvider("tests.pool.apps:line4", cwd=str(SDK_ROOT))


def right() -> dict[str, object]:
    return {"direction": "right", "amount": 1}


def test_threads_share_a_pool_and_a_killed_replica_is_reported_and_replaced() -> None:
    with SyncEnvPool(provider(), replicas=2, health_interval_s=0.2, acquire_timeout_s=0.3) as pool:
        sessions = [pool.open_session() for _ in range(8)]
        assert [r.sessions for r in pool.metrics().replicas] == [4, 4]
        with pytest.raises(NoHealthyReplicaError):
            pool.open_session()
        positions: list[int] = []

        def rollout(env: object) -> None:
            env.reset()  # type: ignore[attr-defined]
            for _ in range(5):
                positions.append(env.step(right()).observation["position"])  # type: ignore[attr-defined]

        threads = [threading.Thread(target=rollout, args=(env,)) for env in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(positions) == sorted(list(range(1, 6)) * 8)

        victim = pool.book.replicas[1]
        victim_url = victim.base_url
        killed = time.monotonic()
        os.kill(victim.server.process.pid, signal.SIGKILL)
        lost = 0
        for env in sessions:
            if env.base_url == victim_url:
                with pytest.raises(SessionLostError):
                    env.step(right())
                with pytest.raises(SessionLostError):
                    env.reset()  # never a silent new episode
                lost += 1
            else:
                assert env.step(right()).observation["position"] == 6
        assert lost == 4 and time.monotonic() - killed < 2.0
        deadline = time.monotonic() + 20
        while pool.metrics().replacements < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        metrics = pool.metrics()
        assert metrics.replacements == 1 and metrics.sessions_lost == 4
        assert metrics.replicas[1].healthy and metrics.replicas[1].base_url != victim_url
        with pool.session() as env:
            assert env.base_url == metrics.replicas[1].base_url
            assert env.reset().observation["position"] == 0
        for env in sessions:
            env.close()
        assert pool.metrics().sessions_open == 0


def test_blocked_call_on_a_hung_replica_returns_session_lost() -> None:
    pool = SyncEnvPool(provider(), replicas=1, health_interval_s=0.2, health_timeout_s=0.3, replace=False).start()
    process = pool.book.replicas[0].server.process
    try:
        env = pool.open_session()
        env.reset()
        os.kill(process.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(SessionLostError, match="failed health probes"):
            env.step(right())
        assert time.monotonic() - started < 3.0
    finally:
        os.kill(process.pid, signal.SIGCONT)
        pool.close(drain_timeout_s=0)
    assert process.poll() is not None
    with pytest.raises(PoolClosedError):
        pool.open_session()


def test_close_waits_for_open_sessions_then_closes_them() -> None:
    pool = SyncEnvPool(provider(), replicas=1).start()
    env = pool.open_session()
    env.reset()
    timer = threading.Timer(0.2, env.close)
    timer.start()
    started = time.monotonic()
    pool.close(drain_timeout_s=5)
    assert 0.15 <= time.monotonic() - started < 5
    assert pool.metrics().sessions_closed == 1 and pool.metrics().sessions_open == 0


def test_sync_spare_replaces_a_killed_replica() -> None:
    with SyncEnvPool(provider(), replicas=1, spares=1, health_interval_s=0.2) as pool:
        spare_url = pool.book.spares[0].base_url
        env = pool.open_session()
        env.reset()
        killed = time.monotonic()
        os.kill(pool.book.replicas[0].server.process.pid, signal.SIGKILL)
        with pytest.raises(SessionLostError):
            env.step(right())
        deadline = time.monotonic() + 10
        while pool.metrics().replacements < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert time.monotonic() - killed < 2.0
        assert pool.urls == [spare_url]
        with pool.session() as fresh:
            assert fresh.reset().observation["position"] == 0
        env.close()
