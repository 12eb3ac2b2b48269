"""Smoke test of ``bench/run.py`` against the real openenv 0.10.0 server, with tiny durations.

Runs the benchmark exactly as a person would (a child process from the repository root) and checks
that the JSON report holds every measurement with plausible, internally consistent numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--runs", "1", "--duration", "0.3", "--seq-steps", "200", "--client-steps", "100",
    "--concurrency", "16", "64", "--connects", "10", "--legacy-idle-sessions", "50",
    "--idle-settle", "0.2", "--idle-same-server",
]  # fmt: skip
RATE_KEYS = ("ops", "wall_s", "ops_s", "server_cpu_us_op", "server_cpu_pct", "client_cpu_pct")


def test_bench_against_openenv_010_only(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--sides", "legacy", *TINY, "--out-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = list(tmp_path.glob("*.json"))
    assert len(reports) == 1
    assert f"wrote {reports[0]}" in proc.stdout
    assert "sequential steps/s, raw websockets" in proc.stdout
    report = json.loads(reports[0].read_text())

    assert set(report["results"]) == {"legacy"}
    assert report["ratios_ours_over_legacy"] == {}
    legacy = report["results"]["legacy"]
    assert "error" not in legacy
    assert "typed_app:app" in legacy["server_argv"]
    assert any(".venv-openenv010/bin/python" in arg for arg in legacy["server_argv"])

    for name in ("seq_raw", "conc_16", "conc_64", "new_session", "sync_client"):
        row = legacy[name]
        assert "error" not in row, row
        for key in RATE_KEYS:
            assert isinstance(row[key], int | float), (name, key)
        assert row["ops"] > 0 and row["wall_s"] > 0 and row["server_cpu_us_op"] >= 0
        assert abs(row["ops_s"] - row["ops"] / row["wall_s"]) < 1e-6 * row["ops_s"]
    assert legacy["seq_raw"]["ops"] == 200
    assert legacy["sync_client"]["ops"] == 100
    assert legacy["new_session"]["ops"] == 10
    for name in ("seq_raw", "conc_16", "conc_64", "new_session"):
        row = legacy[name]
        assert 0 < row["p50_ms"] <= row["p99_ms"] < 10_000, (name, row)
    assert legacy["conc_16"]["sessions"] == 16 and legacy["conc_64"]["sessions"] == 64
    assert legacy["conc_64"]["per_session_min"] > 0

    idle = legacy["idle"]
    assert "error" not in idle, idle
    assert idle["requested"] == idle["sessions"] == 50
    assert idle["server_threads_after"] >= idle["server_threads_before"]
    assert idle["rss_after_mib"] > 0 and idle["probe_step_p50_ms"] > 0
    assert report["meta"]["args"]["sides"] == ["legacy"]
