"""Profile `performance` (INFORMATIONAL): step latency p50/p99, steps/s, session set-up time.

Contract: numbers go into the case `metrics` (milliseconds, per second); the outcome is always
INFORMATIONAL unless the target stops answering (then FAIL/ERROR like any case). Round trips are
bounded by `options.perf_steps`; episodes that end are reset (not timed).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from openenv_conformance.checks._common import disc, reset_frame, session, step_frame
from openenv_conformance.context import CaseContext, expect_type
from openenv_conformance.registry import check

SETUP_SESSIONS = 10


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@check(
    "performance.step_latency",
    title="sequential step round trips: p50/p99 latency and steps/s",
    clauses=["OE-WS-023"],
    informational=True,
    timeout_s=60.0,
)
async def step_latency(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    action = disc(ctx).valid_action()
    timings: list[float] = []
    ctx.note("perf", "note", f"{ctx.options.perf_steps} steps; frames not recorded")
    for _ in range(ctx.options.perf_steps):
        t = time.perf_counter()
        await conn.ws.send(json.dumps(step_frame(action)))
        raw = await asyncio.wait_for(conn.ws.recv(), ctx.timeout_s)
        timings.append((time.perf_counter() - t) * 1000.0)
        if '"done":true' in str(raw).replace(" ", ""):
            await conn.ws.send(json.dumps(reset_frame(ctx)))
            await asyncio.wait_for(conn.ws.recv(), ctx.timeout_s)
    total_s = sum(timings) / 1000.0
    ctx.metrics.update(
        p50_ms=round(statistics.median(timings), 3),
        p99_ms=round(_pct(timings, 0.99), 3),
        steps_per_s=round(len(timings) / total_s, 1) if total_s else 0.0,
    )
    return (f"p50 {ctx.metrics['p50_ms']} ms, p99 {ctx.metrics['p99_ms']} ms, "
            f"{ctx.metrics['steps_per_s']} steps/s")  # fmt: skip


@check(
    "performance.session_setup",
    title="session set-up: connect + first reset",
    clauses=["OE-WS-001"],
    informational=True,
    timeout_s=60.0,
)
async def session_setup(ctx: CaseContext) -> str | None:
    timings = []
    for i in range(SETUP_SESSIONS):
        t = time.perf_counter()
        conn = await ctx.connect(label=f"p{i + 1}")
        expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
        timings.append((time.perf_counter() - t) * 1000.0)
        await conn.close()
    ctx.metrics.update(setup_p50_ms=round(statistics.median(timings), 3), setup_max_ms=round(max(timings), 3))
    return f"connect+reset p50 {ctx.metrics['setup_p50_ms']} ms"
