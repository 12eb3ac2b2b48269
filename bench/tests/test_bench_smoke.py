"""Smoke test of ``bench/run.py``: both servers (0.10.0 and ours) plus the Node echo ceiling.

Runs the benchmark exactly as a person would (a child process from the repository root, tiny
durations, the Node.js load generator installed by ``npm ci`` if missing) and checks that the JSON
report holds every measurement for every side with plausible, internally consistent numbers, and
a verdict for every target. It checks no performance figure: the machine is shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--runs", "1", "--duration", "0.2", "--warmup", "0.05", "--client-steps", "50",
    "--concurrency", "1", "8", "--connects", "5", "--connect-warmup", "1", "--py-crosscheck", "4",
    "--idle-sessions", "20", "--legacy-idle-sessions", "20", "--idle-settle", "0.1",
    "--idle-same-server", "--pause", "0", "--quiet-wait", "0",
    "--async-client-sessions", "4", "--async-client-steps", "25", "--mcp-echo-sessions", "2",
]  # fmt: skip
RATE_KEYS = ("ops", "wall_s", "ops_s", "server_cpu_us_op", "server_cpu_pct", "client_cpu_us_op")
NODE_ROWS = ("conc_1", "conc_8", "new_session")


def check_rate_row(side: str, name: str, row: dict[str, Any]) -> None:
    assert isinstance(row, dict) and "error" not in row, (side, name, row)
    for key in RATE_KEYS:
        assert isinstance(row.get(key), int | float), (side, name, key, row)
    assert row["ops"] > 0 and row["wall_s"] > 0 and row["server_cpu_us_op"] >= 0
    assert abs(row["ops_s"] - row["ops"] / row["wall_s"]) < 1e-6 * row["ops_s"]


def test_bench_both_sides_and_ceiling(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "bench/run.py", *TINY, "--out-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,  # a 0.10 FastMCP echo server starts too (mcp_echo)
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = list(tmp_path.glob("*.json"))
    assert len(reports) == 1
    assert f"wrote {reports[0]}" in proc.stdout
    assert "1 session(s), aggregate (node client)" in proc.stdout
    report = json.loads(reports[0].read_text())
    results = report["results"]
    assert set(results) == {"legacy", "ours", "echo"}
    assert "typed_app:app" in results["legacy"]["server_argv"]
    assert any(".venv-openenv010/bin/python" in arg for arg in results["legacy"]["server_argv"])
    assert "bench.envs.ours_typed:app" in results["ours"]["server_argv"]
    assert any(arg.endswith("echo_server.js") for arg in results["echo"]["server_argv"])

    for side in ("legacy", "ours"):
        check_rate_row(side, "mcp_echo", results[side]["mcp_echo"])  # MCP tool-call steps on both sides
    for side in ("legacy", "ours", "echo"):
        res = results[side]
        assert "error" not in res, res["error"]
        names = [*NODE_ROWS, "py_conc_4", *(["sync_client"] if side != "echo" else [])]
        for name in names:
            check_rate_row(side, name, res[name])
        for name in NODE_ROWS:
            row = res[name]
            assert row["client"] == ("node-raw" if name == "new_session" else "node-ws")
            assert 0 < row["p50_ms"] <= row["p99_ms"] < 10_000, (side, name, row)
        assert res["conc_1"]["sessions"] == 1 and res["conc_8"]["sessions"] == 8
        assert res["conc_8"]["per_session_min"] > 0
        assert res["new_session"]["ops"] == 5 and res["new_session"]["mode"] == "connect_reset"
        assert res["py_conc_4"]["sessions"] == 4
    for side in ("legacy", "ours"):
        assert results[side]["sync_client"]["ops"] == 50
        check_rate_row(side, "async_client", results[side]["async_client"])
        assert results[side]["async_client"]["ops"] == 100 and results[side]["async_client"]["sessions"] == 4
        idle = results[side]["idle"]
        assert "error" not in idle, idle
        assert idle["requested"] == idle["sessions"] == 20
        assert idle["rss_after_mib"] > 0 and idle["probe_step_p50_ms"] > 0
    check_rate_row("ours", "rollout", results["ours"]["rollout"])
    assert results["ours"]["rollout"]["ops"] == 100 and "rollout" not in results["legacy"]
    assert "idle" not in results["echo"] and "sync_client" not in results["echo"]

    assert report["ratios_ours_over_legacy"]["conc_8.ops_s"] > 0
    verdicts = report["targets"]
    assert len(verdicts) == 8
    by_measurement = {v["measurement"]: v for v in verdicts}
    assert by_measurement["conc_64.ops_s"]["passed"] is None  # 64 was not measured
    assert by_measurement["sync_client.ops_s"]["passed"] in (True, False)
    assert by_measurement["mcp_echo.ops_s"]["passed"] in (True, False)
    assert by_measurement["async_client.client_cpu_us_op"]["passed"] in (True, False)
    assert by_measurement["idle.sessions"]["passed"] is False  # 20 < 10,000
    meta = report["meta"]
    assert meta["quiet"]["max_wait_s"] == 0 and len(meta["loadavg_end"]) == 3
    assert meta["versions"]["node"].startswith("v")
