"""`EnvPool` against real servers in child processes: placement, faults, retries, drain, cancellation."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openenv.errors import CapacityReachedError, SessionLostError
from openenv.pool import EnvPool, NoHealthyReplicaError, PoolClosedError, RetryPolicy
from openenv.providers import LocalProcessProvider

SDK_ROOT = Path(__file__).resolve().parents[2]


def provider(app: str = "line4", *args: str) -> LocalProcessProvider:
    return LocalProcessProvider(f"tests.pool.apps:{app}", cwd=str(SDK_ROOT), args=list(args))


def right(amount: int = 1) -> dict[str, object]:
    return {"direction": "right", "amount": amount}


def refuses(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", trust_env=False)
    except httpx.ConnectError:
        return True
    return False


async def eventually(predicate: Callable[[], bool], timeout_s: float) -> float:
    """Poll `predicate` until true or `timeout_s` passed; returns the seconds it took."""
    started = time.monotonic()
    for _ in range(int(timeout_s / 0.02) + 1):
        if predicate():
            break
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def server_sessions(url: str) -> int:
    return int(httpx.get(f"{url}/health", trust_env=False).json()["active_sessions"])


async def test_places_on_least_loaded_replica_within_advertised_capacity() -> None:
    async with EnvPool(provider(), replicas=2, acquire_timeout_s=0.3) as pool:
        assert [r.max_sessions for r in pool.metrics().replicas] == [4, 4]  # from /health
        sessions = [await pool.open_session() for _ in range(6)]
        assert [r.sessions for r in pool.metrics().replicas] == [3, 3]
        for n, env in enumerate(sessions):
            await env.reset(seed=n)
            assert (await env.step(right(2))).observation["position"] == 2
        assert {server_sessions(url) for url in pool.urls} == {3}
        sessions += [await pool.open_session(), await pool.open_session()]
        with pytest.raises(NoHealthyReplicaError, match="free slot"):
            await pool.open_session()
        await sessions.pop().close()
        extra = await pool.open_session()  # the freed slot is used again
        await extra.close()
        for env in sessions:
            await env.close()
        metrics = pool.metrics()
        assert metrics.sessions_created == 9 and metrics.sessions_closed == 9 and metrics.sessions_open == 0
        assert metrics.creation_failures == 1
        urls = pool.urls
    assert pool.metrics().sessions_open == 0
    assert all(refuses(url) for url in urls)  # every server stopped by close()


async def test_killed_replica_sessions_fail_fast_and_replica_is_replaced() -> None:
    async with EnvPool(provider(), replicas=2, health_interval_s=0.2) as pool:
        sessions = [await pool.open_session() for _ in range(6)]
        for env in sessions:
            await env.reset()
            await env.step(right())
        victim = pool.book.replicas[0]
        victim_url = victim.base_url
        on_victim = [s for s in sessions if s.base_url == victim_url]
        survivors = [s for s in sessions if s.base_url != victim_url]
        assert len(on_victim) == 3
        killed = time.monotonic()
        os.kill(victim.server.process.pid, signal.SIGKILL)
        for env in on_victim:
            with pytest.raises(SessionLostError):
                await env.step(right())
        detected = time.monotonic() - killed
        assert detected < 2.0
        for env in on_victim:  # lost stays lost: no silent new episode, ever
            with pytest.raises(SessionLostError):
                await env.reset()
        for env in survivors:
            assert (await env.step(right())).observation["position"] == 2
        await eventually(lambda: pool.metrics().replacements >= 1, 20)
        recovered = time.monotonic() - killed
        metrics = pool.metrics()
        assert metrics.replacements == 1 and metrics.sessions_lost == 3, metrics
        assert metrics.replicas[0].healthy and metrics.replicas[0].base_url != victim_url
        assert recovered < 10.0
        fresh = await pool.open_session()
        assert fresh.base_url == metrics.replicas[0].base_url  # the empty replacement is least loaded
        assert (await fresh.reset()).observation["position"] == 0
        await fresh.close()
        for env in sessions:
            await env.close()
        assert pool.metrics().sessions_open == 0


async def test_hung_replica_is_failed_by_probes_and_pending_call_aborted() -> None:
    async with EnvPool(
        provider(), replicas=1, health_interval_s=0.2, health_timeout_s=0.3, unhealthy_after=2, replace=False
    ) as pool:
        env = await pool.open_session()
        await env.reset()
        process = pool.book.replicas[0].server.process
        os.kill(process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(SessionLostError, match="failed health probes"):
                await env.step(right())
            assert time.monotonic() - started < 3.0
            assert pool.metrics().sessions_lost == 1 and not pool.metrics().replicas[0].healthy
            with pytest.raises(NoHealthyReplicaError):
                pool.acquire_timeout_s = 0.2
                await pool.open_session()
        finally:
            os.kill(process.pid, signal.SIGCONT)


async def test_capacity_reached_is_retried_with_backoff_then_reported() -> None:
    retry = RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=0.2)
    # the pool believes 2 slots, the server allows 1: the second creation meets CAPACITY_REACHED
    async with EnvPool(provider("line1"), replicas=1, max_sessions_per_replica=2, retry=retry) as pool:
        first = await pool.open_session()
        await first.reset()
        started = time.monotonic()
        with pytest.raises(CapacityReachedError):
            await pool.open_session()
        assert time.monotonic() - started >= 0.05
        metrics = pool.metrics()
        assert metrics.creation_retries == 2 and metrics.creation_failures == 1 and metrics.sessions_open == 1

        async def release_soon() -> None:
            await asyncio.sleep(0.1)
            await first.close()

        releaser = asyncio.create_task(release_soon())
        pool.retry = RetryPolicy(attempts=8, base_delay_s=0.05, max_delay_s=0.2)
        second = await pool.open_session()  # retried until the first closed
        await releaser
        assert (await second.reset()).observation["position"] == 0
        await second.close()


async def test_cancelled_trainer_closes_its_session() -> None:
    # the server frees a session whose step hangs when the step times out (1 s here)
    async with EnvPool(provider("line4", "--step-timeout", "1"), replicas=1) as pool:
        url = pool.urls[0]
        entered = asyncio.Event()

        async def rollout() -> None:
            async with pool.session() as env:
                await env.reset()
                entered.set()
                await env.step({"direction": "right", "amount": 1, "fault": "hang"})

        task = asyncio.create_task(rollout())
        await entered.wait()
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: server_sessions(url) == 0, 5)
        assert server_sessions(url) == 0
        assert pool.metrics().sessions_open == 0 and pool.metrics().sessions_closed == 1


async def test_close_drains_then_closes_leftovers_and_refuses_new_sessions() -> None:
    pool = await EnvPool(provider(), replicas=1).start()
    quick = await pool.open_session()
    stuck = await pool.open_session()
    await stuck.reset()

    async def finish_soon() -> None:
        await asyncio.sleep(0.2)
        await quick.close()

    finisher = asyncio.create_task(finish_soon())
    started = time.monotonic()
    await pool.close(drain_timeout_s=0.6)
    waited = time.monotonic() - started
    await finisher
    assert 0.55 <= waited < 5
    assert stuck.closed and pool.metrics().sessions_open == 0 and pool.metrics().sessions_closed == 2
    assert pool.book.replicas[0].server.process.poll() is not None
    with pytest.raises(PoolClosedError):
        await pool.open_session()


async def test_a_provider_that_fails_to_start_stops_the_started_replicas() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.inner = provider()
            self.calls = 0
            self.started: list[object] = []

        def start(self) -> object:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("no room for replica 2")
            server = self.inner.start()
            self.started.append(server)
            return server

    flaky = Flaky()
    with pytest.raises(RuntimeError, match="no room"):
        await EnvPool(flaky, replicas=2).start()
    assert all(s.process.poll() is not None for s in flaky.started)  # type: ignore[attr-defined]


def test_arguments_are_bounded() -> None:
    with pytest.raises(ValueError):
        EnvPool(provider(), replicas=0)
    with pytest.raises(ValueError):
        EnvPool(provider(), replicas=1, health_interval_s=0)
    with pytest.raises(ValueError):
        EnvPool(provider(), replicas=1, unhealthy_after=0)


async def test_a_ready_spare_replaces_a_killed_replica_within_two_seconds() -> None:
    async with EnvPool(provider(), replicas=2, spares=1, health_interval_s=0.2) as pool:
        assert pool.metrics().spares_ready == 1
        spare_url = pool.book.spares[0].base_url
        sessions = [await pool.open_session() for _ in range(4)]
        for env in sessions:
            await env.reset()
        victim = pool.book.replicas[1]
        killed = time.monotonic()
        os.kill(victim.server.process.pid, signal.SIGKILL)
        on_victim = [s for s in sessions if s.replica is victim]
        for env in on_victim:
            with pytest.raises(SessionLostError):
                await env.step(right())
        took = await eventually(lambda: pool.metrics().replacements == 1, 10)
        recovered = time.monotonic() - killed
        assert recovered < 2.0, (took, recovered)
        assert pool.metrics().replicas[1].base_url == spare_url
        await eventually(lambda: pool.metrics().spares_ready == 1, 20)  # the spare is started again
        assert pool.metrics().spares_ready == 1
        spares = list(pool.book.spares)
        for env in sessions:
            await env.close()
    assert all(s.process.poll() is not None for s in spares)  # close() stops spares too
