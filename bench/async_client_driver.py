"""Drive a project's *asyncio client* with many sessions for the benchmark; a child of ``bench/run.py``.

Usage: ``<venv>/bin/python bench/async_client_driver.py --impl legacy|ours --base-url URL
--sessions K --steps N --actions JSON [--loop asyncio|uvloop]`` (default: asyncio's own loop, which
0.10's venv has; uvloop is not installed there). ``legacy`` runs in
``.venv-openenv010`` and uses 0.10's ``GenericEnvClient(base_url=...)`` (awaited); ``ours`` runs in
``.venv`` and uses ``openenv.GenericEnvClient(base_url)``. Both on one event loop in this process,
as a trainer runs them. Stdio handshake, so the parent meters the server's CPU over exactly the step
loop: the driver opens ``K`` sessions and resets each, prints ``READY``, waits for ``GO`` on stdin,
then every session performs ``N`` steps (closed loop, cycling through ``actions``) concurrently,
and the driver prints one JSON line ``{"steps", "wall_s", "client_cpu_s"}`` (``steps`` = K × N,
``client_cpu_s`` = this process's user+system CPU over the step loop) and exits 0. Any failure
exits 1 with the reason on stderr. Standalone: imports nothing from the repository.

``--mode rollout`` (``ours`` only) measures ``openenv.rollout.run_rollouts`` instead: after ``GO``,
``K`` episodes of ``N`` steps each (truncated by the client), ``concurrency=K``, a policy that
alternates the two actions by the observed position (``actions`` must be [right, left]); the
window includes each episode's connect and reset; ``steps`` is the count the trajectories hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

MAX_SESSIONS = 1_000
MAX_STEPS = 1_000_000
TIMEOUT_S = 120.0


def _client(impl: str, base_url: str) -> Any:
    if impl == "legacy":
        from openenv.core.generic_client import GenericEnvClient as LegacyClient

        return LegacyClient(base_url=base_url)
    from openenv import GenericEnvClient

    return GenericEnvClient(base_url)


async def _run(impl: str, base_url: str, sessions: int, steps: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    clients = [_client(impl, base_url) for _ in range(sessions)]
    try:
        async with asyncio.timeout(TIMEOUT_S):
            for client in clients:
                await client.connect()
            await asyncio.gather(*(client.reset() for client in clients))
        print("READY", flush=True)
        go = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if go != "GO":
            raise RuntimeError(f"expected GO on stdin, got {go!r}")

        async def loop(client: Any) -> None:
            for i in range(steps):
                await client.step(actions[i % len(actions)])

        cpu0, t0 = time.process_time(), time.perf_counter()
        async with asyncio.timeout(TIMEOUT_S):
            await asyncio.gather(*(loop(client) for client in clients))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        for client in clients:
            await client.close()
    return {"steps": sessions * steps, "wall_s": wall, "client_cpu_s": cpu}


async def _rollout(base_url: str, sessions: int, steps: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    from openenv.rollout import run_rollouts

    print("READY", flush=True)
    go = (await asyncio.to_thread(sys.stdin.readline)).strip()
    if go != "GO":
        raise RuntimeError(f"expected GO on stdin, got {go!r}")

    async def policy(observation: dict[str, Any]) -> dict[str, Any]:
        # the bench env's line: step back towards 0, so no episode ends before its step budget
        return actions[0] if observation.get("position", 0) <= 0 else actions[1]

    cpu0, t0 = time.process_time(), time.perf_counter()
    trajectories = await run_rollouts(
        [base_url], policy, sessions, concurrency=sessions, max_steps=steps, episode_timeout_s=TIMEOUT_S
    )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    failed = [t.error for t in trajectories if t.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} episode(s) failed, first: {failed[0]}")
    done = sum(len(t.steps) for t in trajectories)
    return {"steps": done, "wall_s": wall, "client_cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=["legacy", "ours"], required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--sessions", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True, help="steps per session")
    parser.add_argument("--actions", required=True, help="JSON list of action objects")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--mode", choices=["client", "rollout"], default="client")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be in 1..{MAX_SESSIONS}")
    if not 1 <= args.steps <= MAX_STEPS:
        parser.error(f"--steps must be in 1..{MAX_STEPS}")
    actions = json.loads(args.actions)
    if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
        parser.error("--actions must be a non-empty JSON list of objects")
    if args.mode == "rollout" and args.impl != "ours":
        parser.error("--mode rollout needs --impl ours")
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            if args.mode == "rollout":
                result = runner.run(_rollout(args.base_url, args.sessions, args.steps, actions))
            else:
                result = runner.run(_run(args.impl, args.base_url, args.sessions, args.steps, actions))
    except Exception as exc:
        print(f"async client driver failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
