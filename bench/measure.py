"""The benchmark's Python-driven measurements; each drives a running server over 127.0.0.1.

The headline throughput/latency/session-setup figures come from the Node.js load generator
(:mod:`bench.node_loadgen`); this module keeps the Python asyncio ``websockets`` client as a
cross-check (``concurrent``), the sync-client runs (``sync_client``) and ``idle_sessions``.

Every function takes the server's ``ws_url``/``base_url`` and ``pid`` and returns a flat dict of
numbers (rates in ops/s, latencies in ms, ``server_cpu_us_op`` = server CPU µs per operation from
``/proc``, ``server_cpu_pct`` where 100 = one core, ``client_cpu_pct`` of the measuring process).
The workload is the line environment's ``step`` alternating ``right 1`` / ``left 1`` (so no
episode ever ends and both servers do identical work). Every loop is bounded by a count or a
duration, every wait by a timeout; a reply that is not an ``observation`` raises
:class:`BenchError` with the frame.
"""

from __future__ import annotations

import asyncio
import json
import select
import statistics
import subprocess
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import uvloop
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as aconnect

from bench.procstat import CpuMeter, cpu_seconds, rss_bytes, self_cpu_seconds, thread_count

STEP_ACTIONS: list[dict[str, Any]] = [
    {"direction": "right", "amount": 1},
    {"direction": "left", "amount": 1},
]
COMPACT = (",", ":")
STEP_FRAMES = [json.dumps({"type": "step", "data": a}, separators=COMPACT) for a in STEP_ACTIONS]
RESET_FRAME = json.dumps({"type": "reset"}, separators=COMPACT)
MCP_ECHO_FRAMES = [
    json.dumps(
        {"type": "step", "data": {"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": m}}},
        separators=COMPACT,
    )
    for m in ("ping", "pong")
]
"""Step frames of the ``mcp_echo`` scenario: one MCP tool call each (the same on both sides)."""
CLOSE_FRAME = json.dumps({"type": "close"}, separators=COMPACT)
OBSERVATION_PREFIX = '{"type":"observation"'
RECV_TIMEOUT_S = 30.0
MAX_FRAME = 1 << 20
COMPRESSIONS = ("deflate", "none")
DRIVER = Path(__file__).resolve().parent / "sync_client_driver.py"
ASYNC_DRIVER = Path(__file__).resolve().parent / "async_client_driver.py"
T = TypeVar("T")


class BenchError(RuntimeError):
    """A measurement could not be taken (bad reply, timeout, dead server)."""


def check_observation(frame: str | bytes) -> None:
    """Raise unless ``frame`` is an ``observation`` frame."""
    if isinstance(frame, str) and frame.startswith(OBSERVATION_PREFIX):
        return
    try:
        kind = json.loads(frame).get("type")
    except (ValueError, AttributeError):
        kind = None
    if kind != "observation":
        raise BenchError(f"expected an observation frame, got {str(frame)[:300]!r}")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty sequence."""
    if not values:
        raise BenchError("no samples")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _latency_ms(samples: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": 1e3 * percentile(samples, 0.5), "p99_ms": 1e3 * percentile(samples, 0.99)}


def _meter_stats(meter: CpuMeter, ops: int) -> dict[str, float]:
    return {
        "ops": ops,
        "wall_s": meter.wall,
        "ops_s": ops / meter.wall,
        "server_cpu_us_op": 1e6 * meter.server_cpu / ops,
        "server_cpu_pct": 100 * meter.server_cpu / meter.wall,
        "client_cpu_pct": 100 * meter.client_cpu / meter.wall,
        "client_cpu_us_op": 1e6 * meter.client_cpu / ops,
    }


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh uvloop event loop (client side)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(factory())


def _compression(name: str) -> str | None:
    if name not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}, got {name!r}")
    return None if name == "none" else name


# --------------------------------------------------------------- concurrent sessions, closed loop


def _ws(ws_url: str, compression: str, open_timeout: float = 30.0) -> aconnect:
    return aconnect(
        ws_url,
        proxy=None,
        open_timeout=open_timeout,
        max_size=MAX_FRAME,
        ping_interval=None,
        compression=_compression(compression),
    )


async def _recv(ws: ClientConnection) -> str | bytes:
    async with asyncio.timeout(RECV_TIMEOUT_S):
        return await ws.recv()


async def _concurrent(ws_url: str, pid: int, sessions: int, duration_s: float, compression: str) -> dict[str, Any]:
    ready = 0
    all_ready = asyncio.Event()
    start = asyncio.Event()
    deadline = [0.0]
    counts = [0] * sessions
    samples: list[float] = []

    async def worker(idx: int) -> None:
        nonlocal ready
        async with _ws(ws_url, compression) as ws:
            await ws.send(RESET_FRAME)
            check_observation(await _recv(ws))
            ready += 1
            if ready == sessions:
                all_ready.set()
            await start.wait()
            n = 0
            reply: str | bytes = ""
            while time.perf_counter() < deadline[0]:
                t0 = time.perf_counter()
                await ws.send(STEP_FRAMES[n & 1])
                reply = await _recv(ws)
                samples.append(time.perf_counter() - t0)
                n += 1
            if n:
                check_observation(reply)
            counts[idx] = n
            await ws.send(CLOSE_FRAME)

    tasks = [asyncio.create_task(worker(i)) for i in range(sessions)]
    t_open = time.perf_counter()
    waiter = asyncio.create_task(all_ready.wait())
    done, _ = await asyncio.wait([waiter, *tasks], timeout=60.0, return_when=asyncio.FIRST_COMPLETED)
    while waiter not in done:
        failed = [t for t in done if t is not waiter and t.exception()]
        if failed or not done:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if failed:
                raise BenchError(f"a session failed while opening: {failed[0].exception()!r}")
            raise BenchError(f"only {ready}/{sessions} sessions opened within 60 s")
        done, _ = await asyncio.wait(
            [waiter, *(t for t in tasks if not t.done())],
            timeout=60.0,
            return_when=asyncio.FIRST_COMPLETED,
        )
    open_s = time.perf_counter() - t_open
    with CpuMeter(pid) as meter:
        deadline[0] = time.perf_counter() + duration_s
        start.set()
        async with asyncio.timeout(duration_s + RECV_TIMEOUT_S):
            await asyncio.gather(*tasks)
    total = sum(counts)
    if total == 0:
        raise BenchError("no step completed")
    return (
        _meter_stats(meter, total)
        | _latency_ms(samples)
        | {
            "sessions": sessions,
            "open_all_s": open_s,
            "per_session_min": min(counts),
            "per_session_max": max(counts),
        }
    )


def concurrent(ws_url: str, pid: int, sessions: int, duration_s: float, compression: str = "deflate") -> dict[str, Any]:
    """``sessions`` sessions, each resets then steps in a closed loop for ``duration_s``."""
    return run_async(lambda: _concurrent(ws_url, pid, sessions, duration_s, compression))


# ------------------------------------------------------------------------ the sync client


def _readline(proc: subprocess.Popen[bytes], deadline: float, what: str) -> str:
    assert proc.stdout is not None
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"client driver: no {what} in time")
        readable, _, _ = select.select([proc.stdout], [], [], left)
        if not readable:
            continue
        chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def sync_client(
    python: Path,
    impl: str,
    base_url: str,
    pid: int,
    steps: int,
    timeout_s: float,
    env: dict[str, str],
) -> dict[str, Any]:
    """Sequential steps through a project's sync client, run by ``python`` as a child process."""
    argv = [str(python), str(DRIVER), "--impl", impl, "--base-url", base_url]
    argv += ["--steps", str(steps), "--actions", json.dumps(STEP_ACTIONS)]
    return _driven(argv, base_url, pid, steps, timeout_s, env)


def async_client(
    python: Path,
    impl: str,
    base_url: str,
    pid: int,
    sessions: int,
    steps: int,
    timeout_s: float,
    env: dict[str, str],
    mode: str = "client",
) -> dict[str, Any]:
    """``sessions`` concurrent sessions of a project's asyncio client on one event loop, ``steps``
    steps each, run by ``python`` as a child process; ``client_cpu_us_op`` is what a trainer's
    process pays per step. ``mode="rollout"``: the same through ``openenv.rollout.run_rollouts``."""
    argv = [str(python), str(ASYNC_DRIVER), "--impl", impl, "--base-url", base_url, "--mode", mode]
    argv += ["--sessions", str(sessions), "--steps", str(steps), "--actions", json.dumps(STEP_ACTIONS)]
    return _driven(argv, base_url, pid, sessions * steps, timeout_s, env) | {"sessions": sessions}


def _driven(
    argv: list[str], base_url: str, pid: int, steps: int, timeout_s: float, env: dict[str, str]
) -> dict[str, Any]:
    """Run a client driver (stdio handshake: READY, GO, one JSON result line) and meter the server."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + timeout_s
    try:
        line = _readline(proc, deadline, "READY")
        if line.strip() != "READY":
            raise BenchError(f"client driver did not get ready: {line!r}")
        assert proc.stdin is not None
        cpu0 = cpu_seconds(pid)
        proc.stdin.write(b"GO\n")
        proc.stdin.flush()
        line = _readline(proc, deadline, "result")
        server_cpu = cpu_seconds(pid) - cpu0
        result = json.loads(line)
        proc.wait(max(1.0, deadline - time.monotonic()))
    except (BenchError, ValueError, subprocess.TimeoutExpired) as exc:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise BenchError(f"{exc}; driver stderr:\n{err.decode(errors='replace')[-2000:]}") from exc
    if proc.returncode != 0:
        raise BenchError(f"client driver exited with {proc.returncode}")
    wall = result["wall_s"]
    steps = int(result.get("steps", steps))  # what the driver did (a rollout counts its trajectories)
    return {
        "ops": steps,
        "wall_s": wall,
        "ops_s": steps / wall,
        "server_cpu_us_op": 1e6 * server_cpu / steps,
        "server_cpu_pct": 100 * server_cpu / wall,
        "client_cpu_pct": 100 * result["client_cpu_s"] / wall,
        "client_cpu_us_op": 1e6 * result["client_cpu_s"] / steps,
    }


# ------------------------------------------------------------------------ idle sessions


async def _close_all(conns: list[ClientConnection], timeout_s: float) -> None:
    sem = asyncio.Semaphore(256)

    async def close(ws: ClientConnection) -> None:
        async with sem:
            await ws.close()

    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*(close(ws) for ws in conns), return_exceptions=True)
    except TimeoutError:
        for ws in conns:
            ws.transport.abort()


async def _probe(ws_url: str, steps: int, compression: str) -> dict[str, float]:
    samples: list[float] = []
    t0 = time.perf_counter()
    async with _ws(ws_url, compression) as ws:
        await ws.send(RESET_FRAME)
        check_observation(await _recv(ws))
        first = time.perf_counter() - t0
        for i in range(steps):
            t1 = time.perf_counter()
            await ws.send(STEP_FRAMES[i & 1])
            check_observation(await _recv(ws))
            samples.append(time.perf_counter() - t1)
    return {
        "probe_new_session_ms": 1e3 * first,
        "probe_step_p50_ms": 1e3 * percentile(samples, 0.5),
    }


async def _idle(
    ws_url: str,
    pid: int,
    count: int,
    open_concurrency: int,
    timeout_s: float,
    settle_s: float,
    compression: str,
) -> dict[str, Any]:
    rss0, threads0 = rss_bytes(pid), thread_count(pid)
    conns: list[ClientConnection] = []
    broken: list[ClientConnection] = []
    errors: list[str] = []
    sem = asyncio.Semaphore(open_concurrency)

    async def open_one() -> None:
        async with sem:
            if errors:
                return
            try:
                ws = await _ws(ws_url, compression, open_timeout=60)
            except Exception as exc:
                errors.append(repr(exc))
                return
            try:
                await ws.send(RESET_FRAME)
                check_observation(await _recv(ws))
            except Exception as exc:
                errors.append(repr(exc))
                broken.append(ws)
                return
            conns.append(ws)

    t0 = time.perf_counter()
    client_cpu0, server_cpu0 = self_cpu_seconds(), cpu_seconds(pid)
    timed_out = False
    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*(open_one() for _ in range(count)))
    except TimeoutError:
        timed_out = True
    open_s = time.perf_counter() - t0
    server_cpu = cpu_seconds(pid) - server_cpu0
    client_cpu = self_cpu_seconds() - client_cpu0
    opened = len(conns)
    result: dict[str, Any] = {
        "requested": count,
        "sessions": opened,
        "open_s": open_s,
        "open_rate_s": opened / open_s if open_s else 0.0,
        "open_server_cpu_us_op": 1e6 * server_cpu / max(opened, 1),
        "open_client_cpu_pct": 100 * client_cpu / open_s if open_s else 0.0,
        "rss_before_mib": rss0 / 2**20,
        "server_threads_before": threads0,
    }
    try:
        await asyncio.sleep(settle_s)
        rss1 = rss_bytes(pid)
        idle_cpu0, t_idle = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(max(settle_s, 0.1))
        idle_cpu = cpu_seconds(pid) - idle_cpu0
        result |= {
            "rss_after_mib": rss1 / 2**20,
            "rss_per_session_kib": (rss1 - rss0) / 1024 / max(opened, 1),
            "server_threads_after": thread_count(pid),
            "idle_server_cpu_pct": 100 * idle_cpu / (time.perf_counter() - t_idle),
        }
        if not errors and not timed_out:
            result |= await _probe(ws_url, 200, compression)
    finally:
        await _close_all(conns + broken, timeout_s=60.0)
    if timed_out:
        result["error"] = f"only {opened}/{count} sessions opened within {timeout_s:.0f} s"
    elif errors:
        result["error"] = f"{len(errors)} session(s) failed, first: {errors[0]}"
    return result


def idle_sessions(
    ws_url: str,
    pid: int,
    count: int,
    *,
    open_concurrency: int = 200,
    timeout_s: float = 600.0,
    settle_s: float = 1.0,
    compression: str = "deflate",
) -> dict[str, Any]:
    """Open ``count`` sessions (each reset once) and hold them idle; report the server's RSS."""
    return run_async(lambda: _idle(ws_url, pid, count, open_concurrency, timeout_s, settle_s, compression))


def median_of(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-key median over runs for numbers; the first value for anything else."""
    out: dict[str, Any] = {}
    for key, first in rows[0].items():
        values = [r[key] for r in rows if key in r]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        out[key] = statistics.median(values) if numeric else first
    out["runs"] = len(rows)
    if "ops_s" in rows[0]:
        out["ops_s_runs"] = [round(r["ops_s"], 1) for r in rows]
    return out
