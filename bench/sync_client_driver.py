"""Drive a project's *sync client* for the benchmark; run as a child process of ``bench/run.py``.

Usage: ``<venv>/bin/python bench/sync_client_driver.py --impl legacy|ours --base-url URL
--steps N --actions JSON``. ``legacy`` runs in ``.venv-openenv010`` and uses 0.10's
``GenericEnvClient(base_url=...).sync()``; ``ours`` runs in ``.venv`` and uses
``openenv.GenericSyncEnvClient(base_url)`` (the blocking sans-I/O transport). Stdio handshake, so the parent can meter
the server's CPU over exactly the step loop: the driver connects and resets, prints ``READY``,
waits for a ``GO`` line on stdin, performs ``steps`` steps cycling through ``actions`` (a JSON
list of action objects), then prints one JSON line ``{"steps", "wall_s", "client_cpu_s"}`` and
exits 0. Any failure exits 1 with the reason on stderr. Standalone: imports nothing from the repo.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

MAX_STEPS = 1_000_000


def _client(impl: str, base_url: str) -> Any:
    if impl == "legacy":
        from openenv.core.generic_client import GenericEnvClient as LegacyClient

        return LegacyClient(base_url=base_url).sync()
    from openenv import GenericSyncEnvClient

    return GenericSyncEnvClient(base_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=["legacy", "ours"], required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--actions", required=True, help="JSON list of action objects")
    args = parser.parse_args(argv)
    if not 1 <= args.steps <= MAX_STEPS:
        parser.error(f"--steps must be in 1..{MAX_STEPS}")
    actions = json.loads(args.actions)
    if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
        parser.error("--actions must be a non-empty JSON list of objects")

    with _client(args.impl, args.base_url) as env:
        env.reset()
        print("READY", flush=True)
        go = sys.stdin.readline().strip()
        if go != "GO":
            print(f"expected GO on stdin, got {go!r}", file=sys.stderr)
            return 1
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(args.steps):
            env.step(actions[i % len(actions)])
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    print(json.dumps({"steps": args.steps, "wall_s": wall, "client_cpu_s": cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
