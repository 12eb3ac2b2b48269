"""Pool benchmark: many sessions over several replicas driven by one `EnvPool` (issue 13).

Scenarios (each a fresh pool; the client is this one asyncio process on uvloop):

* `ours4`: 4 replicas of this project's server (`openenv serve bench.envs.ours_typed:app`, one
  process each, `LocalProcessProvider`), `--sessions` sessions;
* `legacy4`: the same load over 4 `openenv==0.10.0` servers (`interop/legacy_envs/typed_app.py`
  under `.venv-openenv010`, `MAX_CONCURRENT_ENVS` = their share) behind the same pool;
* `legacy1`: the same load against one 0.10 server (a pool of one replica);
* `recovery`: `ours4` (plus `--spares` standby servers, default 1) under load, then replica 0 is
  SIGKILLed mid-run: the time until every
  affected session has raised `SessionLostError`, the time until the replacement is healthy, the
  count of affected sessions, and a check that none was silently restarted (a further call on each
  still raises);
* `ray4`, `ray-recovery`: the same as `ours4` and `recovery` with `RayProvider` replicas on a
  local two-node Ray cluster (`local_cluster`); run these under `.venv-ray`.

For each load scenario: session creation rate (open + first reset, `--open-concurrency` in flight),
then a closed loop (every session steps, waits for the reply, steps again) measured for
`--duration` s after `--warmup` s: steps/s, p50/p99 step latency, client CPU µs per step
(`time.process_time()` of this process over the window).

    .venv/bin/python bench/pool_bench.py                          # ours4 legacy4 legacy1 recovery
    .venv-ray/bin/python bench/pool_bench.py --scenarios ray4 ray-recovery
    .venv/bin/python bench/pool_bench.py --sessions 100 --duration 1 --scenarios ours4   # smoke

Output: a table on stdout and `bench/results/pool-<UTC timestamp>.json` (`--out` to change).
Every loop is bounded (`--duration`, `--recovery-timeout`); servers and clusters are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "python-sdk" / "src")]

from openenv.errors import SessionLostError  # noqa: E402
from openenv.pool import EnvPool, PooledSession, RetryPolicy  # noqa: E402
from openenv.providers import LocalProcessProvider  # noqa: E402

OURS_APP = "bench.envs.ours_typed:app"
LOAD_SCENARIOS = ("ours4", "legacy4", "legacy1", "ray4")
SCENARIOS = (*LOAD_SCENARIOS, "recovery", "ray-recovery")
ACTIONS = ({"direction": "right", "amount": 1}, {"direction": "left", "amount": 1})


class LegacyProvider:
    """Starts `openenv==0.10.0` servers (the `typed` app) — a provider for the pool."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions

    def start(self) -> Any:
        from interop.legacy_server import start_legacy_server

        return start_legacy_server("typed", max_sessions=self.max_sessions, cpu=None, startup_timeout_s=180)


def ours_provider(max_sessions: int) -> LocalProcessProvider:
    return LocalProcessProvider(
        OURS_APP,
        cwd=str(REPO_ROOT),
        env={"PYTHONPATH": str(REPO_ROOT)},
        args=["--max-sessions", str(max_sessions)],
        ready_timeout_s=60,
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_sessions(pool: EnvPool[Any], count: int, concurrency: int) -> tuple[list[PooledSession[Any]], float]:
    """Open and reset `count` sessions; (sessions, sessions per second)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> PooledSession[Any]:
        async with gate:
            env = await pool.open_session()
            await env.reset(seed=n)
            return env

    started = time.perf_counter()
    sessions = await asyncio.gather(*(one(n) for n in range(count)))
    return list(sessions), count / (time.perf_counter() - started)


class Load:
    """A closed loop over sessions; records latencies inside the measured window."""

    def __init__(self, sessions: list[PooledSession[Any]]) -> None:
        self.sessions = sessions
        self.measuring = False
        self.stopping = False
        self.latencies: list[float] = []
        self.count = 0
        self.lost_at: dict[int, float] = {}
        self.steps_after: dict[int, int] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def _loop(self, index: int, env: PooledSession[Any]) -> None:
        flip = 0
        while not self.stopping:
            started = time.perf_counter()
            try:
                await env.step(ACTIONS[flip])
            except SessionLostError:
                self.lost_at[index] = time.monotonic()
                return
            flip ^= 1
            self.steps_after[index] = self.steps_after.get(index, 0) + 1
            if self.measuring:
                self.latencies.append(time.perf_counter() - started)
                self.count += 1

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(i, env)) for i, env in enumerate(self.sessions)]

    async def window(self, warmup_s: float, duration_s: float) -> dict[str, float]:
        await asyncio.sleep(warmup_s)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        self.measuring = True
        await asyncio.sleep(duration_s)
        self.measuring = False
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {
            "steps_s": self.count / wall,
            "p50_ms": percentile(self.latencies, 0.50) * 1000,
            "p99_ms": percentile(self.latencies, 0.99) * 1000,
            "client_cpu_us_per_step": cpu / max(self.count, 1) * 1e6,
            "steps": self.count,
        }

    async def stop(self) -> None:
        self.stopping = True
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def run_load(pool: EnvPool[Any], args: argparse.Namespace) -> dict[str, Any]:
    sessions, rate = await open_sessions(pool, args.sessions, args.open_concurrency)
    load = Load(sessions)
    load.start()
    try:
        figures = await load.window(args.warmup, args.duration)
    finally:
        await load.stop()
    spread = [r.sessions for r in pool.metrics().replicas]
    await asyncio.gather(*(env.close() for env in sessions))
    return {"sessions": args.sessions, "sessions_per_replica": spread, "creation_sessions_s": rate, **figures}


async def run_recovery(pool: EnvPool[Any], args: argparse.Namespace, kill: Callable[[Any], None]) -> dict[str, Any]:
    sessions, rate = await open_sessions(pool, args.sessions, args.open_concurrency)
    victim = pool.book.replicas[0]
    victim_url = victim.base_url
    affected = {i for i, env in enumerate(sessions) if env.base_url == victim_url}
    load = Load(sessions)
    load.start()
    await asyncio.sleep(args.warmup)
    before = dict(load.steps_after)
    killed = time.monotonic()
    kill(victim.server)
    deadline = killed + args.recovery_timeout
    reported_s = replaced_s = None
    while time.monotonic() < deadline and (reported_s is None or replaced_s is None):
        if reported_s is None and affected <= set(load.lost_at):
            reported_s = max(load.lost_at[i] for i in affected) - killed
        if replaced_s is None and pool.metrics().replacements >= 1:
            replaced_s = time.monotonic() - killed
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    await load.stop()
    unexpected = set(load.lost_at) - affected
    survivors_progressed = sum(
        1 for i in range(len(sessions)) if i not in affected and load.steps_after.get(i, 0) > before.get(i, 0)
    )
    silently_restarted = 0
    for i in affected:
        try:
            await sessions[i].reset()
            silently_restarted += 1
        except SessionLostError:
            pass
    fresh = await pool.open_session()
    await fresh.reset()
    await fresh.close()
    metrics = pool.metrics()
    await asyncio.gather(*(env.close() for env in sessions))
    return {
        "sessions": args.sessions,
        "creation_sessions_s": rate,
        "affected_sessions": len(affected),
        "reported_lost": len(set(load.lost_at) & affected),
        "lost_outside_the_killed_replica": len(unexpected),
        "silently_restarted": silently_restarted,
        "survivors_that_kept_stepping": survivors_progressed,
        "survivors": len(sessions) - len(affected),
        "all_affected_reported_s": reported_s,
        "pool_marked_replica_failed_s": None if victim.failed_at is None else victim.failed_at - killed,
        "replacement_healthy_s": replaced_s,
        "spares": pool.spare_count,
        "pool_sessions_lost": metrics.sessions_lost,
        "pool_replacements": metrics.replacements,
    }


def kill_process(server: Any) -> None:
    os.kill(server.process.pid, signal.SIGKILL)


def kill_actor_process(server: Any) -> None:
    os.kill(server.pid, signal.SIGKILL)


async def scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    share = -(-args.sessions // args.replicas)  # ceil
    retry = RetryPolicy(attempts=8, base_delay_s=0.05, max_delay_s=1.0)
    common: dict[str, Any] = {"retry": retry, "health_interval_s": 0.5, "acquire_timeout_s": 120}
    if name in ("recovery", "ray-recovery"):
        common["spares"] = args.spares
    if name in ("ours4", "recovery"):
        pool: EnvPool[Any] = EnvPool(ours_provider(share + 8), args.replicas, **common)
    elif name == "legacy4":
        # 0.10's /health does not advertise max_sessions: the pool is told each server's share
        pool = EnvPool(LegacyProvider(share + 8), args.replicas, max_sessions_per_replica=share + 8, **common)
    elif name == "legacy1":
        cap = args.sessions + 8
        pool = EnvPool(LegacyProvider(cap), 1, max_sessions_per_replica=cap, **common)
    else:
        from openenv.providers.ray import RayProvider

        env = {"env_vars": {"PYTHONPATH": str(REPO_ROOT), "RAY_USAGE_STATS_ENABLED": "0"}}
        provider = RayProvider(OURS_APP, num_cpus=0.25, runtime_env=env, strategy="SPREAD")
        pool = EnvPool(provider, args.replicas, **common)
    async with pool:
        if name in ("recovery", "ray-recovery"):
            return await run_recovery(pool, args, kill_actor_process if name == "ray-recovery" else kill_process)
        return await run_load(pool, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=["ours4", "legacy4", "legacy1", "recovery"]
    )
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--open-concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--recovery-timeout", type=float, default=30.0)
    parser.add_argument("--spares", type=int, default=1, help="standby servers in the recovery scenarios")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 20_000 or not 1 <= args.replicas <= 64:
        parser.error("--sessions must be 1..20000 and --replicas 1..64")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results: dict[str, Any] = {}
    wants_ray = any(s.startswith("ray") for s in args.scenarios)
    cluster: Any = None
    if wants_ray:
        from openenv.providers.ray import local_cluster

        env = {"env_vars": {"PYTHONPATH": str(REPO_ROOT), "RAY_USAGE_STATS_ENABLED": "0"}}
        cluster = local_cluster(2, cpus_per_node=2, runtime_env=env)
        cluster.__enter__()
    try:
        for name in args.scenarios:
            started = time.monotonic()
            try:
                results[name] = asyncio.run(scenario(name, args))
            except Exception as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            results[name]["wall_s"] = round(time.monotonic() - started, 1)
            print(name, json.dumps(results[name]), flush=True)
    finally:
        if cluster is not None:
            cluster.__exit__(None, None, None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or REPO_ROOT / "bench" / "results" / f"pool-{stamp}.json"
    meta = {
        "when": stamp,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "loadavg_start_end": list(os.getloadavg()),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(f"\nwrote {out}")
    rows = [n for n in args.scenarios if n in LOAD_SCENARIOS and "error" not in results[n]]
    if rows:
        print(f"\n{'scenario':10} {'steps/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu µs/step':>12} {'create/s':>9}")
        for n in rows:
            r = results[n]
            print(
                f"{n:10} {r['steps_s']:9,.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['client_cpu_us_per_step']:12.1f} {r['creation_sessions_s']:9,.0f}"
            )
    if any("error" in r for r in results.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
