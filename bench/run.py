"""Side-by-side benchmark: openenv 0.10.0's server vs this project's, same env, same machine.

Run from the repository root: ``.venv/bin/python bench/run.py`` (``--help`` for the knobs; the
exact commands and the figures are in ``bench/README.md``). Each server runs pinned to CPU 0
(``taskset -c 0``), the measuring process and its children on CPU 1. Before measuring, the run
waits (up to ``--quiet-wait`` s) for the 1-minute load average to drop below ``--quiet-load`` and
records whether it did. Measurements, interleaved side by side for ``--runs`` rounds (median):

* ``conc_<K>``      Node.js load generator (``bench/loadgen``, installed with ``npm ci`` on first
                    use): K sessions reset, then step in a closed loop; after ``--warmup`` s,
                    aggregate steps/s and p50/p99 step latency over ``--duration`` s (K=1 is the
                    sequential figure);
* ``new_session``   Node.js: new ``/ws`` connection + first reset + close, p50/p99 (by default on
                    a bare TCP socket, ``--connect-client raw``: half the client CPU of ``ws``);
* ``py_conc_<K>``   cross-check with the Python asyncio ``websockets`` client (``--py-crosscheck``);
* ``sync_client``   sequential steps through each project's own sync client (0.10's
                    ``GenericEnvClient(...).sync()`` in ``.venv-openenv010``, ours
                    ``openenv.GenericSyncEnvClient`` in ``.venv``);
* ``async_client``  ``--async-client-sessions`` concurrent sessions of each project's own asyncio
                    client on one event loop in a child process (what a trainer's process pays
                    per step: ``client_cpu_us_op``);
* ``rollout``       (ours) the same sessions and steps through ``openenv.rollout.run_rollouts``
                    (policy, trajectories, per-episode bounds; connects and resets included);
* ``sync_env_<K>``  K sessions (``--sync-env-sessions``) against a plain ``def`` environment on
                    its per-session worker thread (``bench/envs/ours_sync.py``) — the way most
                    0.10 environments are written; 0.10's side is its usual (sync) typed env;
* ``mcp_echo``      K sessions (``--mcp-echo-sessions``) stepping ``call_tool echo_message`` on the
                    MCP echo environment: 0.10's FastMCP ``interop/legacy_envs/echo_app.py`` vs
                    ours, ``reference-servers/echo_env`` (``bench/envs/ours_mcp_echo.py``);
* every row carries server CPU µs/op from ``/proc``;
* ``idle``          (once, on a fresh server) N sessions opened, reset and held idle; RSS/session.

With ``--ceiling`` (default) the Node measurements also run against ``echo`` (a trivial Node ``ws``
server on the same CPU): the load generator's own ceiling. Prints a table with ratios ours/0.10,
the target verdicts (:mod:`bench.targets`) and writes ``<out-dir>/<UTC timestamp>.json``. Exit
status 0 when every requested side produced every measurement, 1 otherwise (the JSON is written
anyway, with an ``error`` string where a side or a measurement failed); a missed target does not
change the exit status.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import measure, node_loadgen, targets
from bench.node_loadgen import LoadgenError
from bench.servers import OURS_MCP_ECHO_APP, OURS_SYNC_APP, SIDES, Side, start_ours, start_side
from interop.legacy_server import legacy_env, legacy_python, start_legacy_server
from interop.server_process import ServerProcess, ServerStartError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "bench" / "results"
SERVER_CPU, CLIENT_CPU = 0, 1
LABELS = {"legacy": "openenv-0.10.0", "ours": "ours", "echo": "node-echo"}
Row = tuple[str, str, str, str, bool]  # (measurement, key, label, unit, higher_is_better)


def table_rows(concurrency: list[int], py_k: int) -> list[Row]:
    """The rows of the printed table for the measured concurrency levels."""
    rows: list[Row] = []
    for k in concurrency:
        name, at = f"conc_{k}", f"@{k}"
        rows.append((name, "ops_s", f"{k} session(s), aggregate (node client)", "steps/s", True))
        rows.append((name, "p50_ms", f"step latency p50 {at}", "ms", False))
        rows.append((name, "p99_ms", f"step latency p99 {at}", "ms", False))
        rows.append((name, "server_cpu_us_op", f"server CPU per step {at}", "µs", False))
        rows.append((name, "client_cpu_us_op", f"load generator CPU per step {at}", "µs", False))
    rows += [
        ("sync_env", "ops_s", "plain sync env on worker threads, aggregate", "steps/s", True),
        ("sync_env", "p99_ms", "plain sync env, step latency p99", "ms", False),
        ("sync_env", "server_cpu_us_op", "plain sync env, server CPU per step", "µs", False),
        ("mcp_echo", "ops_s", "MCP echo env (tool-call steps), aggregate", "steps/s", True),
        ("mcp_echo", "p99_ms", "MCP echo env, step latency p99", "ms", False),
        ("mcp_echo", "server_cpu_us_op", "MCP echo env, server CPU per step", "µs", False),
        ("new_session", "p50_ms", "new session + first reset p50", "ms", False),
        ("new_session", "p99_ms", "new session + first reset p99", "ms", False),
        ("new_session", "server_cpu_us_op", "server CPU per new session", "µs", False),
    ]
    if py_k:
        name = f"py_conc_{py_k}"
        rows.append((name, "ops_s", f"{py_k} sessions, Python asyncio client", "steps/s", True))
        rows.append((name, "server_cpu_us_op", f"server CPU per step, Python client @{py_k}", "µs", False))
        rows.append((name, "client_cpu_us_op", f"Python client CPU per step @{py_k}", "µs", False))
    rows += [
        ("sync_client", "ops_s", "sequential steps/s, own sync client", "steps/s", True),
        ("sync_client", "server_cpu_us_op", "server CPU per sync-client step", "µs", False),
        ("sync_client", "client_cpu_us_op", "sync client's own CPU per step", "µs", False),
        ("async_client", "ops_s", "own asyncio client, concurrent sessions", "steps/s", True),
        ("async_client", "server_cpu_us_op", "server CPU per asyncio-client step", "µs", False),
        ("async_client", "client_cpu_us_op", "asyncio client's own CPU per step", "µs", False),
        ("rollout", "ops_s", "run_rollouts, concurrent episodes", "steps/s", True),
        ("rollout", "client_cpu_us_op", "run_rollouts CPU per step (trainer side)", "µs", False),
        ("idle", "sessions", "idle sessions held", "sessions", True),
        ("idle", "rss_per_session_kib", "server RSS per idle session", "KiB", False),
    ]
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    p.add_argument("--runs", type=int, default=3, help="rounds of every measurement (median)")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per closed-loop run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each window")
    p.add_argument("--client-steps", type=int, default=2000, help="steps via the sync client")
    p.add_argument("--async-client-sessions", type=int, default=64, help="sessions of the asyncio client (0 skips)")
    p.add_argument("--async-client-steps", type=int, default=300, help="steps per asyncio-client session")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these measurements (e.g. async_client sync_client conc_64); idle runs only if named",
    )
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument(
        "--sync-env-sessions",
        type=int,
        default=64,
        help="sessions against a plain sync environment (ours: bench/envs/ours_sync.py; 0 skips)",
    )
    p.add_argument("--mcp-echo-sessions", type=int, default=64, help="sessions of the mcp_echo scenario (0 skips)")
    p.add_argument("--connects", type=int, default=300, help="new sessions per run")
    p.add_argument("--connect-warmup", type=int, default=20, help="unmeasured new sessions first")
    p.add_argument(
        "--connect-client",
        choices=node_loadgen.CONNECT_CLIENTS,
        default="raw",
        help="new_session client: bare TCP socket (raw) or the ws package",
    )
    p.add_argument(
        "--py-crosscheck",
        type=int,
        default=64,
        metavar="K",
        help="also drive K sessions with the Python asyncio client (0 skips)",
    )
    p.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the Node measurements against a trivial Node ws echo server",
    )
    p.add_argument("--pause", type=float, default=0.3, help="seconds between two measurements")
    p.add_argument("--quiet-load", type=float, default=0.5, help="wait for a 1-min load avg below")
    p.add_argument("--quiet-wait", type=float, default=600.0, help="at most this many seconds (0: no wait)")
    p.add_argument("--idle-sessions", type=int, default=10_000, help="ours; 0 skips")
    p.add_argument("--legacy-idle-sessions", type=int, default=10_000, help="0.10; 0 skips")
    p.add_argument("--idle-timeout", type=float, default=600.0, help="bound for opening them")
    p.add_argument("--idle-settle", type=float, default=1.0, help="seconds before reading RSS")
    p.add_argument(
        "--idle-same-server",
        action="store_true",
        help="measure idle sessions on the already loaded server instead of a fresh one",
    )
    p.add_argument(
        "--client-compression",
        choices=measure.COMPRESSIONS,
        default="none",
        help="what the Python websockets clients offer (the Node client never compresses)",
    )
    p.add_argument("--ours-launcher", choices=["auto", "serve", "module", "uvicorn"], default="auto")
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument("--no-pin", action="store_true", help="do not pin server/client to CPUs")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    a = p.parse_args(argv)
    bounds = {
        "runs": (1, 20),
        "duration": (0.05, 120),
        "warmup": (0, 60),
        "client_steps": (1, 1_000_000),
        "async_client_sessions": (0, 1000),
        "async_client_steps": (1, 100_000),
        "connects": (1, 10_000),
        "connect_warmup": (0, 1_000),
        "py_crosscheck": (0, 1000),
        "quiet_load": (0, 64),
        "pause": (0, 10),
        "quiet_wait": (0, 3600),
        "idle_sessions": (0, 20_000),
        "legacy_idle_sessions": (0, 20_000),
        "idle_timeout": (1, 3600),
        "idle_settle": (0, 60),
        "startup_timeout": (1, 600),
    }
    for name, (lo, hi) in bounds.items():
        if not lo <= getattr(a, name) <= hi:
            p.error(f"--{name.replace('_', '-')} must be in {lo}..{hi}")
    if any(not 1 <= k <= 1000 for k in a.concurrency):
        p.error("--concurrency values must be in 1..1000")
    return a


def raise_fd_limit(needed: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards ``needed`` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, needed)) if hard != resource.RLIM_INFINITY else max(soft, needed)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


VERSIONED = ("openenv", "websockets", "uvicorn", "uvloop", "httptools", "pydantic", "fastapi", "starlette")
_VERSIONS_CODE = (
    "import importlib.metadata as m, json, sys\n"
    "out = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        out[name] = m.version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        out[name] = None\n"
    "print(json.dumps(out))\n"
)


def package_versions(python: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Versions of the packages that matter, as seen by ``python`` (None when not installed)."""
    try:
        proc = subprocess.run(
            [str(python), "-c", _VERSIONS_CODE, *VERSIONED],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
        versions: dict[str, Any] = json.loads(proc.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return versions


def top_snapshot(lines: int = 15) -> list[str]:
    """The head of ``top -bn1`` (who else is using the machine), or the reason it is missing."""
    try:
        proc = subprocess.run(["top", "-bn1", "-w", "160"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return [f"top failed: {exc}"]
    return proc.stdout.splitlines()[:lines]


def wait_for_quiet(threshold: float, max_wait_s: float, poll_s: float = 5.0) -> dict[str, Any]:
    """Wait until the 1-minute load average is below ``threshold`` or ``max_wait_s`` passed."""
    t0 = time.monotonic()
    start = os.getloadavg()
    while os.getloadavg()[0] >= threshold and time.monotonic() - t0 < max_wait_s:
        time.sleep(min(poll_s, max(0.0, max_wait_s - (time.monotonic() - t0))))
    load = os.getloadavg()
    return {
        "threshold": threshold,
        "max_wait_s": max_wait_s,
        "waited_s": round(time.monotonic() - t0, 1),
        "loadavg_before_wait": start,
        "loadavg_at_start": load,
        "quiet": load[0] < threshold,
    }


def machine_meta(args: argparse.Namespace, pinned: bool, sides: list[str]) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    if "legacy" in sides:
        versions["legacy"] = package_versions(legacy_python(), legacy_env())
    versions["ours"] = package_versions(Path(sys.executable))
    versions["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pinned": pinned,
        "server_cpu": SERVER_CPU if pinned else None,
        "client_cpu": CLIENT_CPU if pinned else None,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "workload": "line env step, alternating right 1 / left 1",
        "versions": versions,
    }


class Contender:
    """One server under test and everything measured on it."""

    def __init__(self, side: Side, args: argparse.Namespace, cpu: int | None) -> None:
        self.side = side
        self.args = args
        self.cpu = cpu
        self.server: ServerProcess | None = None
        self.sync_server: ServerProcess | None = None  # ours: the plain sync environment
        self.mcp_server: ServerProcess | None = None  # the MCP echo environment (both sides)
        self.results: dict[str, Any] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.error: str | None = None

    @property
    def max_sessions(self) -> int:
        return int(max([256, *self.args.concurrency, self.args.legacy_idle_sessions + 16]))

    def start(self) -> None:
        self.server = start_side(
            self.side,
            cpu=self.cpu,
            max_sessions=self.max_sessions,
            launcher=self.args.ours_launcher,
            startup_timeout_s=self.args.startup_timeout,
        )
        self.results["server_argv"] = self.server.proc.args
        if self.side == "ours" and self.args.sync_env_sessions and self.sync_server is None:
            self.sync_server = start_ours(
                cpu=self.cpu,
                launcher=self.args.ours_launcher,
                startup_timeout_s=self.args.startup_timeout,
                app=OURS_SYNC_APP,
            )
        if self.side in ("legacy", "ours") and self.args.mcp_echo_sessions and self.mcp_server is None:
            if self.side == "legacy":
                self.mcp_server = start_legacy_server(
                    "echo",
                    max_sessions=max(8, self.args.mcp_echo_sessions),
                    cpu=self.cpu,
                    startup_timeout_s=self.args.startup_timeout,
                )
            else:
                self.mcp_server = start_ours(
                    cpu=self.cpu,
                    launcher=self.args.ours_launcher,
                    startup_timeout_s=self.args.startup_timeout,
                    app=OURS_MCP_ECHO_APP,
                )

    def stop(self) -> None:
        for server in (self.server, self.sync_server, self.mcp_server):
            if server is not None:
                server.stop()
        self.server = self.sync_server = self.mcp_server = None

    def sync_client_python(self) -> tuple[Path, dict[str, str]]:
        if self.side == "legacy":
            return legacy_python(), legacy_env()
        return Path(sys.executable), dict(os.environ)

    def plan(self) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
        srv = self.server
        assert srv is not None
        a = self.args
        frames = measure.STEP_FRAMES
        reset = measure.RESET_FRAME

        def conc(k: int) -> Callable[[], dict[str, Any]]:
            return lambda: node_loadgen.steps(
                srv.ws_url,
                srv.pid,
                k,
                duration_s=a.duration,
                warmup_s=a.warmup,
                reset_frame=reset,
                step_frames=frames,
            )

        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [(f"conc_{k}", conc(k)) for k in a.concurrency]
        if a.sync_env_sessions and self.side in ("legacy", "ours"):
            sync_srv = srv if self.side == "legacy" else self.sync_server  # 0.10's typed env is sync already
            if sync_srv is not None:
                k_sync = a.sync_env_sessions
                steps.append(
                    (
                        "sync_env",
                        lambda: node_loadgen.steps(
                            sync_srv.ws_url,
                            sync_srv.pid,
                            k_sync,
                            duration_s=a.duration,
                            warmup_s=a.warmup,
                            reset_frame=reset,
                            step_frames=frames,
                        ),
                    )
                )
        mcp_srv = self.mcp_server
        if a.mcp_echo_sessions and mcp_srv is not None:
            k_mcp = a.mcp_echo_sessions
            steps.append(
                (
                    "mcp_echo",
                    lambda: node_loadgen.steps(
                        mcp_srv.ws_url,
                        mcp_srv.pid,
                        k_mcp,
                        duration_s=a.duration,
                        warmup_s=a.warmup,
                        reset_frame=reset,
                        step_frames=measure.MCP_ECHO_FRAMES,
                    ),
                )
            )
        steps.append(
            (
                "new_session",
                lambda: node_loadgen.connect_reset(
                    srv.ws_url,
                    srv.pid,
                    a.connects,
                    warmup_count=a.connect_warmup,
                    reset_frame=reset,
                    client=a.connect_client,
                ),
            )
        )
        if a.py_crosscheck:
            k = a.py_crosscheck
            steps.append(
                (
                    f"py_conc_{k}",
                    lambda: measure.concurrent(srv.ws_url, srv.pid, k, a.duration, a.client_compression),
                )
            )
        if self.side != "echo":
            python, env = self.sync_client_python()
            steps.append(
                (
                    "sync_client",
                    lambda: measure.sync_client(python, self.side, srv.base_url, srv.pid, a.client_steps, 120.0, env),
                )
            )
            if a.async_client_sessions:
                k, n = a.async_client_sessions, a.async_client_steps
                steps.append(
                    (
                        "async_client",
                        lambda: measure.async_client(python, self.side, srv.base_url, srv.pid, k, n, 300.0, env),
                    )
                )
                if self.side == "ours":
                    steps.append(
                        (
                            "rollout",
                            lambda: measure.async_client(
                                python, self.side, srv.base_url, srv.pid, k, n, 300.0, env, mode="rollout"
                            ),
                        )
                    )
        if a.only:
            steps = [step for step in steps if step[0] in a.only]
        return steps


def start_contender(s: Contender) -> None:
    """Start one side's server; a failure is recorded on it, not raised."""
    try:
        s.start()
    except (ServerStartError, LoadgenError, OSError) as exc:
        s.error = f"server did not start: {exc}"
        print(f"! {LABELS[s.side]}: {s.error}", file=sys.stderr, flush=True)


def run_measurements(sides: list[Contender], runs: int, pause_s: float) -> None:
    order = list(dict.fromkeys(name for s in sides for name, _ in s.plan()))
    for r in range(runs):
        for name in order:
            for s in sides:
                plan = dict(s.plan())
                if name not in plan or s.error or s.server is None or s.results.get(name, {}).get("error"):
                    continue
                try:
                    row = plan[name]()
                except Exception as exc:  # record and go on with the other measurements
                    s.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    if not s.server.alive():
                        s.error = f"server died during {name}: {s.server.stderr_tail()}"
                    continue
                s.rows.setdefault(name, []).append(row)
                print(f"  run {r + 1}/{runs} {LABELS[s.side]:>15} {name:12} {brief(row)}", flush=True)
                time.sleep(pause_s)
    for s in sides:
        for name, rows in s.rows.items():
            if not s.results.get(name, {}).get("error"):
                s.results[name] = measure.median_of(rows)


def run_idle(s: Contender, count: int, timeout_s: float, settle_s: float, fresh: bool, compression: str) -> None:
    """Idle sessions, by default on a fresh server (clean RSS baseline)."""
    try:
        if fresh or s.server is None:
            s.stop()
            s.start()
        assert s.server is not None
        row = measure.idle_sessions(
            s.server.ws_url,
            s.server.pid,
            count,
            timeout_s=timeout_s,
            settle_s=settle_s,
            compression=compression,
        )
    except Exception as exc:
        s.results["idle"] = {"requested": count, "error": f"{type(exc).__name__}: {exc}"}
        return
    s.results["idle"] = row
    print(f"  idle {LABELS[s.side]:>15} {brief(row)}", flush=True)


def brief(row: dict[str, Any]) -> str:
    keys = ("ops_s", "p50_ms", "p99_ms", "server_cpu_us_op", "sessions", "rss_per_session_kib")
    parts = [f"{k}={row[k]:.4g}" for k in keys if isinstance(row.get(k), int | float)]
    if row.get("error"):
        parts.append(f"error={row['error']!r}")
    return " ".join(parts)


def ratios(results: dict[str, dict[str, Any]], rows: list[Row]) -> dict[str, float]:
    legacy, ours = results.get("legacy", {}), results.get("ours", {})
    out: dict[str, float] = {}
    for name, key, _label, _unit, _higher in rows:
        a = legacy.get(name, {}).get(key)
        b = ours.get(name, {}).get(key)
        if isinstance(a, int | float) and isinstance(b, int | float) and a:
            out[f"{name}.{key}"] = b / a
    return out


def table(results: dict[str, dict[str, Any]], ratio: dict[str, float], rows: list[Row]) -> str:
    def fmt(value: Any) -> str:
        if isinstance(value, int):
            return f"{value:,}"
        if not isinstance(value, float):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"

    def cell(side: str, name: str, key: str) -> Any:
        row = results.get(side, {}).get(name, {})
        return row.get(key) if isinstance(row, dict) else None

    head = f"{'measurement':44} {'unit':8} {'0.10.0':>10} {'ours':>10} {'ours/0.10':>10} {'echo':>10}  better"
    lines = [head, "-" * len(head)]
    for name, key, label, unit, higher in rows:
        r = ratio.get(f"{name}.{key}")
        lines.append(
            f"{label:44} {unit:8} {fmt(cell('legacy', name, key)):>10} {fmt(cell('ours', name, key)):>10} "
            f"{(f'{r:.2f}x' if r is not None else '–'):>10} {fmt(cell('echo', name, key)):>10}  "
            f"{'higher' if higher else 'lower'}"
        )
    for side, res in results.items():
        for name, row in res.items():
            if isinstance(row, dict) and row.get("error"):
                lines.append(f"! {LABELS[side]} {name}: {row['error']}")
        if res.get("error"):
            lines.append(f"! {LABELS[side]}: {res['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pinned = not args.no_pin and (os.cpu_count() or 1) >= 2
    cpu = SERVER_CPU if pinned else None
    raise_fd_limit(2 * max(args.idle_sessions, args.legacy_idle_sessions) + 1024)
    try:
        node_loadgen.ensure_installed()
    except LoadgenError as exc:
        print(f"! {exc}", file=sys.stderr, flush=True)
        return 1
    top_before = top_snapshot()
    if args.quiet_wait:
        print(f"waiting up to {args.quiet_wait:.0f} s for a 1-min load average < {args.quiet_load}", flush=True)
    quiet = wait_for_quiet(args.quiet_load, args.quiet_wait)
    print(f"load average at start: {quiet['loadavg_at_start']}", flush=True)
    meta: dict[str, Any] = {"top_before_wait": top_before, "quiet": quiet, "top_at_start": top_snapshot()}
    names: list[Side] = [*args.sides]
    if args.ceiling:
        names.append("echo")
    sides = [Contender(side, args, cpu) for side in names]
    try:
        # Start the servers (each pinned) while the versions are looked up, to save wall time.
        with concurrent.futures.ThreadPoolExecutor(len(sides) + 1) as pool:
            meta_future = pool.submit(machine_meta, args, pinned, args.sides)
            for future in [pool.submit(start_contender, s) for s in sides]:
                future.result()
            meta = meta_future.result() | meta
        if pinned:
            os.sched_setaffinity(0, {CLIENT_CPU})
        live = [s for s in sides if not s.error]
        if live:
            run_measurements(live, args.runs, args.pause)
        for s in live:
            count = {"ours": args.idle_sessions, "legacy": args.legacy_idle_sessions}.get(s.side, 0)
            if args.only and "idle" not in args.only:
                count = 0
            if count and not s.error:
                run_idle(
                    s,
                    count,
                    args.idle_timeout,
                    args.idle_settle,
                    not args.idle_same_server,
                    args.client_compression,
                )
    finally:
        for s in sides:
            s.stop()
    meta["loadavg_end"] = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    for s in sides:
        results[s.side] = dict(s.results)
        if s.error:
            results[s.side]["error"] = s.error
    rows = table_rows(args.concurrency, args.py_crosscheck)
    ratio = ratios(results, rows)
    verdicts = targets.evaluate(results)
    report = {"meta": meta, "results": results, "ratios_ours_over_legacy": ratio, "targets": verdicts}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out_dir / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(table(results, ratio, rows))
    print()
    print(targets.render(verdicts))
    print(f"wrote {out}")
    failed = any(s.error or any(isinstance(v, dict) and v.get("error") for v in s.results.values()) for s in sides)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
