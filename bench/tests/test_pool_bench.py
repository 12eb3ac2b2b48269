"""Smoke test of `bench/pool_bench.py`: tiny sizes, this project's servers only (about 15 s)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import pool_bench


def test_pool_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    argv = ["--sessions", "40", "--warmup", "0.3", "--duration", "0.5", "--scenarios", "ours4", "recovery"]
    assert pool_bench.main([*argv, "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    load = results["ours4"]
    assert load["sessions_per_replica"] == [10, 10, 10, 10]
    assert load["steps"] > 0 and load["p99_ms"] >= load["p50_ms"] > 0 and load["creation_sessions_s"] > 0
    recovery = results["recovery"]
    assert recovery["affected_sessions"] == recovery["reported_lost"] == recovery["pool_sessions_lost"] == 10
    assert recovery["silently_restarted"] == 0 and recovery["lost_outside_the_killed_replica"] == 0
    assert recovery["survivors_that_kept_stepping"] == recovery["survivors"] == 30
    assert recovery["pool_replacements"] == 1 and recovery["replacement_healthy_s"] is not None
