"""Profile `concurrency`: N sessions are isolated; capacity is refused and recovers.

Contract: `isolation` interleaves steps of N sessions (N = `options.sessions`) with distinct
`episode_id`s and checks each session's state. The capacity checks learn the limit from
`/metadata.limits.max_sessions` or by opening sessions (at most `options.capacity_probe`); when
no limit is reached they are UNIMPLEMENTED. The refusal must carry CAPACITY_REACHED (as a 503 body
or as an error frame followed by a close); a refusal before the upgrade (HTTP 503 + Retry-After)
is the SHOULD checked separately; after a session closes a new one must be accepted again.
"""

from __future__ import annotations

import asyncio
import json
import time

from openenv_conformance.checks._common import (
    disc,
    fill_to_capacity,
    metadata_limits,
    reset_frame,
    state_of,
    step_ok,
)
from openenv_conformance.context import CaseContext, Conn, HandshakeRefused, expect_error
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided

RECOVERY_S = 3.0


@check("concurrency.isolation", title="N concurrent sessions keep separate episodes and counts")
async def isolation(ctx: CaseContext) -> str | None:
    n = max(2, ctx.options.sessions)
    limits = await metadata_limits(ctx)
    if limits and isinstance(limits.get("max_sessions"), int):
        n = min(n, limits["max_sessions"])
    conns = [await ctx.connect(label=f"s{i + 1}") for i in range(n)]
    ids = [f"iso-{ctx.rng.getrandbits(32):08x}-{i}" for i in range(n)]
    await asyncio.gather(
        *(c.request(reset_frame(ctx, episode_id=e)) for c, e in zip(conns, ids, strict=True))
    )
    action = disc(ctx).valid_action()
    for i, conn in enumerate(conns):  # session i takes i+1 steps, interleaved with the others
        for _ in range(i + 1):
            await step_ok(conn, action)
    states = await asyncio.gather(*(state_of(c) for c in conns))
    for i, state in enumerate(states):
        if state.get("episode_id") != ids[i]:
            raise Fail(f"session {i + 1}: episode_id {state.get('episode_id')!r}, sent {ids[i]!r}")
        if state.get("step_count") != i + 1:
            raise Fail(f"session {i + 1}: step_count {state.get('step_count')!r}, took {i + 1}")
    return f"{n} sessions isolated"


async def _limit(ctx: CaseContext) -> int:
    limits = await metadata_limits(ctx)
    if limits and isinstance(limits.get("max_sessions"), int):
        return min(limits["max_sessions"] + 1, ctx.options.capacity_probe)
    return ctx.options.capacity_probe


def _refusal_code(refusal: HandshakeRefused | Conn, frame: str | None) -> None:
    if isinstance(refusal, HandshakeRefused):
        if refusal.status != 503:
            raise Fail(f"extra session refused with HTTP {refusal.status}, expected 503")
        try:
            body = json.loads(refusal.body)
        except ValueError:
            raise Fail("the 503 refusal body is not JSON") from None
        expect_error(body, ("CAPACITY_REACHED",), "503 body")
        return
    if frame is None:
        raise Fail("the extra session was neither refused nor answered")
    expect_error(json.loads(frame), ("CAPACITY_REACHED",), "capacity refusal frame")


@check("concurrency.capacity.refused", title="a session beyond capacity gets CAPACITY_REACHED")
async def capacity_refused(ctx: CaseContext) -> str | None:
    held, refusal, first = await fill_to_capacity(ctx, v1=False, limit=await _limit(ctx))
    if isinstance(refusal, Conn):
        _refusal_code(refusal, first)
        closed = await refusal.wait_closed()
        if closed is None:
            raise Fail("after CAPACITY_REACHED the server kept the connection open")
        return f"refused after the upgrade (close code {closed.code}) at {len(held)} sessions"
    _refusal_code(refusal, None)
    return f"refused before the upgrade at {len(held)} sessions"


@check(
    "concurrency.capacity.before_upgrade",
    title="capacity is refused before the upgrade: HTTP 503 + Retry-After",
    level=Level.SHOULD,
)
async def capacity_before_upgrade(ctx: CaseContext) -> str | None:
    held, refusal, first = await fill_to_capacity(ctx, v1=False, limit=await _limit(ctx))
    if isinstance(refusal, Conn):
        raise Fail(f"session {len(held) + 1} was upgraded and then refused")
    _refusal_code(refusal, None)
    if "retry-after" not in refusal.headers:
        raise Fail("the 503 refusal has no Retry-After header")
    return None


@check("concurrency.capacity.recovery", title="after a session closes, a new one is accepted")
async def capacity_recovery(ctx: CaseContext) -> str | None:
    held, refusal, first = await fill_to_capacity(ctx, v1=False, limit=await _limit(ctx))
    if isinstance(refusal, Conn):
        await refusal.close()
    if not held:
        raise Undecided("capacity reached with no session open")
    await held[0].close()
    deadline = time.monotonic() + RECOVERY_S
    while time.monotonic() < deadline:
        result = await ctx.try_connect(label="after")
        if isinstance(result, Conn):
            frame = await result.request(reset_frame(ctx))
            if frame.get("type") == "observation":
                return None
            await result.close()
        await asyncio.sleep(0.1)
    raise Fail(f"no new session accepted within {RECOVERY_S:g}s after one closed")
