"""Drive a server with the Node.js load generator (``bench/loadgen/loadgen.js``) and meter it.

``ensure_installed()`` runs ``npm ci`` in ``bench/loadgen`` when ``node_modules/ws`` is missing
(exact pins from the committed ``package-lock.json``). ``steps()`` runs K connections in a closed
loop for ``duration_s`` after ``warmup_s``; ``connect_reset()`` runs ``count`` × (new connection +
first reset + close). Both return a flat dict like :mod:`bench.measure`'s (``ops``, ``wall_s``,
``ops_s``, ``p50_ms``, ``p99_ms``, ``server_cpu_us_op``, ``server_cpu_pct``, ``client_cpu_pct``)
plus ``client_cpu_us_op`` (the load generator's own CPU per operation; 1e6 / it is the client's
one-core ceiling). The server's CPU is read from ``/proc`` by the load generator itself at the
exact edges of the measured window. The child inherits this process's CPU affinity. A missing
``node``/``npm``, a failed install, a non-zero exit or a timeout raises :class:`LoadgenError`.
``start_echo_server()`` starts ``bench/loadgen/echo_server.js`` (the client-ceiling reference).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.procstat import CLOCK_TICKS
from interop.server_process import ServerProcess, free_port, start_server_process

LOADGEN_DIR = Path(__file__).resolve().parent / "loadgen"
LOADGEN_JS = LOADGEN_DIR / "loadgen.js"
ECHO_JS = LOADGEN_DIR / "echo_server.js"
INSTALL_TIMEOUT_S = 300.0
EXTRA_TIMEOUT_S = 60.0
CONNECT_CLIENTS = ("raw", "ws")


class LoadgenError(RuntimeError):
    """The Node.js load generator could not be installed or did not produce a result."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise LoadgenError(f"{name} is not installed (the load generator needs Node.js >= 18 and npm)")
    return path


def ensure_installed() -> None:
    """``npm ci`` in ``bench/loadgen`` unless ``node_modules/ws`` is already there."""
    _tool("node")
    if (LOADGEN_DIR / "node_modules" / "ws" / "package.json").is_file():
        return
    argv = [_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        proc = subprocess.run(argv, cwd=LOADGEN_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LoadgenError(f"npm ci in {LOADGEN_DIR} took over {INSTALL_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        raise LoadgenError(f"npm ci in {LOADGEN_DIR} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def _run(args: list[str], pid: int, timeout_s: float) -> dict[str, Any]:
    argv = [_tool("node"), str(LOADGEN_JS), *args, "--server-pid", str(pid)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise LoadgenError(f"loadgen {args[0]} did not finish within {timeout_s:.0f} s") from exc
    if proc.returncode != 0:
        raise LoadgenError(f"loadgen {args[0]} exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise LoadgenError(f"loadgen printed no JSON result: {proc.stdout[-500:]!r}") from exc
    ops, wall = row["ops"], row["wall_s"]
    server_cpu = row.pop("server_cpu_ticks") / CLOCK_TICKS
    row["server_cpu_us_op"] = 1e6 * server_cpu / ops
    row["server_cpu_pct"] = 100 * server_cpu / wall
    row["client_cpu_us_op"] = 1e6 * row.pop("client_cpu_s") / ops
    row["client"] = f"node-{row.get('client', 'ws')}"
    return row


def steps(
    ws_url: str,
    pid: int,
    connections: int,
    *,
    duration_s: float,
    warmup_s: float,
    reset_frame: str,
    step_frames: list[str],
) -> dict[str, Any]:
    """``connections`` sessions, reset once, then stepping in a closed loop; see the module doc."""
    args = ["steps", "--url", ws_url, "--connections", str(connections)]
    args += ["--duration", str(duration_s), "--warmup", str(warmup_s), "--reset-frame", reset_frame]
    for frame in step_frames:
        args += ["--frame", frame]
    return _run(args, pid, duration_s + warmup_s + EXTRA_TIMEOUT_S + connections / 100)


def connect_reset(
    ws_url: str, pid: int, count: int, *, warmup_count: int, reset_frame: str, client: str = "raw"
) -> dict[str, Any]:
    """``count`` × (new connection, first reset, close), after ``warmup_count`` unmeasured ones.

    ``client`` ``raw`` speaks the handshake on a bare TCP socket (about half the client CPU of
    ``ws`` per connection, so less client latency in the figure); ``ws`` uses the ``ws`` package.
    """
    if client not in CONNECT_CLIENTS:
        raise ValueError(f"client must be one of {CONNECT_CLIENTS}, got {client!r}")
    args = ["connect_reset", "--client", client, "--url", ws_url, "--count", str(count)]
    args += ["--warmup-count", str(warmup_count), "--reset-frame", reset_frame]
    return _run(args, pid, EXTRA_TIMEOUT_S + (count + warmup_count) * 0.1)


def start_echo_server(*, cpu: int | None, startup_timeout_s: float = 30.0) -> ServerProcess:
    """The trivial Node ``ws`` server used to measure the load generator's own ceiling."""
    port = free_port()
    argv = [_tool("node"), str(ECHO_JS), "--port", str(port)]
    return start_server_process(
        argv, port=port, name="node-echo", env=dict(os.environ), cpu=cpu, startup_timeout_s=startup_timeout_s
    )
