"""Profile `concurrency`: N sessions are isolated; capacity is refused and recovers.

Contract: `isolation` interleaves steps of N sessions (N = `options.sessions`, at most the
advertised `max_sessions`, at least 2 or UNIMPLEMENTED) with distinct `episode_id`s and checks each
session's state: its own step count, no episode_id shared or swapped (a reset that ignores
`episode_id` is core.state.episode_id_echo's finding, not an isolation failure). The
capacity checks learn the limit from `/metadata.limits.max_sessions` or by opening sessions (at
most `options.capacity_probe`); when no limit is reached they are UNIMPLEMENTED (OE-CONF-008).
A refusal must carry CAPACITY_REACHED with its details (as a 503 body, or as the only frame before
the close); a refusal after the upgrade only misses the SHOULD of OE-LIM-012. After a session's
close handshake completes, a reconnect must not be refused (OE-LIM-014), tried several times.
"""

from __future__ import annotations

import asyncio
import json

from openenv_conformance.checks._common import (
    disc,
    fill_to_capacity,
    metadata_limits,
    reset_frame,
    state_of,
    step_ok,
)
from openenv_conformance.context import (
    CaseContext,
    Conn,
    HandshakeRefused,
    expect_error,
    expect_type,
)
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

RECOVERY_ROUNDS = 5


@check(
    "concurrency.isolation",
    title="N concurrent sessions keep separate episodes and counts",
    clauses=["OE-GEN-001"],
)
async def isolation(ctx: CaseContext) -> str | None:
    n = max(2, ctx.options.sessions)
    limits = await metadata_limits(ctx)
    if limits and isinstance(limits.get("max_sessions"), int):
        n = min(n, limits["max_sessions"])
    if n < 2:  # one session proves nothing about isolation (no vacuous pass)
        raise Unimplemented(f"needs 2 concurrent sessions; the server allows {n} (max_sessions)")
    conns = [await ctx.connect(label=f"s{i + 1}") for i in range(n)]
    ids = [f"iso-{ctx.rng.getrandbits(32):08x}-{i}" for i in range(n)]
    await asyncio.gather(*(c.request(reset_frame(ctx, episode_id=e)) for c, e in zip(conns, ids, strict=True)))
    action = disc(ctx).valid_action()
    taken: list[int] = []
    for i, conn in enumerate(conns):  # session i takes i+1 steps, fewer if its episode ends first
        count = 0
        for _ in range(i + 1):
            count += 1
            if (await step_ok(conn, action)).get("done") is True:
                break
        taken.append(count)
    states = await asyncio.gather(*(state_of(c) for c in conns))
    # judged by isolation alone: whether reset honours episode_id is core.state.episode_id_echo's
    # finding, not this check's; sessions must just not share or swap episodes
    got = [state.get("episode_id") for state in states]
    for i, state in enumerate(states):
        if state.get("step_count") != taken[i]:
            raise Fail(f"session {i + 1}: step_count {state.get('step_count')!r}, took {taken[i]}")
        if got[i] in ids and got[i] != ids[i]:
            raise Fail(f"session {i + 1} reports the episode_id sent on session {ids.index(str(got[i])) + 1}")
    shared = [e for e in got if e is not None and got.count(e) > 1]
    if shared:
        raise Fail(f"sessions report the same episode_id {shared[0]!r}")
    if got != ids:
        return f"{n} sessions isolated (reset did not keep the requested episode_id: see core.state.episode_id_echo)"
    return f"{n} sessions isolated"


async def _limit(ctx: CaseContext) -> tuple[int, int | None]:
    limits = await metadata_limits(ctx)
    if limits and isinstance(limits.get("max_sessions"), int):
        top: int = limits["max_sessions"]
        return min(top + 1, ctx.options.capacity_probe), top
    return ctx.options.capacity_probe, None


def _capacity_error(body: object, what: str) -> None:
    expect_error(body, ("CAPACITY_REACHED",), what)  # type: ignore[arg-type]
    data = body["data"]  # type: ignore[index]
    if not isinstance(data.get("active_sessions"), int) or not isinstance(data.get("max_sessions"), int):
        raise Fail(f"{what}: CAPACITY_REACHED without active_sessions/max_sessions")


def _check_503(refusal: HandshakeRefused) -> None:
    if refusal.status != 503:
        raise Fail(f"extra session refused with HTTP {refusal.status}, expected 503")
    try:
        body = json.loads(refusal.body)
    except ValueError:
        raise Fail("the 503 refusal body is not JSON") from None
    _capacity_error(body, "503 body")
    retry = refusal.headers.get("retry-after", "")
    if not retry.isdigit() or int(retry) < 1:
        raise Fail(f"503 refusal Retry-After is {retry!r}, expected integer seconds >= 1")


@check(
    "concurrency.capacity.refused",
    title="a session beyond max_sessions is refused with CAPACITY_REACHED, then closed",
    clauses=["OE-LIM-011", "OE-LIM-013", "OE-ERR-012", "OE-ERR-014", "OE-WS-028", "OE-ERR-002"],
)
async def capacity_refused(ctx: CaseContext) -> str | None:
    limit, top = await _limit(ctx)
    held, refusal, first = await fill_to_capacity(ctx, v1=False, limit=limit, declared=top)
    if top is not None and len(held) > top:
        raise Fail(f"{len(held)} sessions accepted although max_sessions is {top}")
    if isinstance(refusal, HandshakeRefused):
        _check_503(refusal)
        return f"refused before the upgrade at {len(held)} sessions"
    if first is None:
        raise Fail("the extra session was closed without a CAPACITY_REACHED frame")
    _capacity_error(json.loads(first), "refusal frame")
    closed = await refusal.wait_closed()
    if closed is None:
        raise Fail("after CAPACITY_REACHED the server kept the connection open")
    if closed.code not in (1000, 1013):
        raise Fail(f"capacity close code {closed.code}, expected 1013 (or 1000 at base level)")
    return f"refused after the upgrade (close {closed.code}) at {len(held)} sessions"


@check(
    "concurrency.capacity.before_upgrade",
    title="capacity is refused before the upgrade: HTTP 503 + Retry-After + JSON error",
    clauses=["OE-LIM-012", "OE-HTTP-024"],
)
async def capacity_before_upgrade(ctx: CaseContext) -> str | None:
    limit, top = await _limit(ctx)
    held, refusal, _ = await fill_to_capacity(ctx, v1=False, limit=limit, declared=top)
    if isinstance(refusal, Conn):
        raise Fail(f"session {len(held) + 1} was upgraded and then refused", level=Level.SHOULD)
    _check_503(refusal)
    return None


@check(
    "concurrency.capacity.recovery",
    title="after a close handshake completes, a reconnect is accepted at once",
    clauses=["OE-LIM-014", "OE-GEN-002"],
)
async def capacity_recovery(ctx: CaseContext) -> str | None:
    limit, top = await _limit(ctx)
    held, refusal, _ = await fill_to_capacity(ctx, v1=False, limit=limit, declared=top)
    if isinstance(refusal, Conn):
        await refusal.close()
        await asyncio.sleep(0.2)  # the refused connection's own slot, if any, is not ours to time
    if not held:
        raise Undecided("capacity reached with no session open")
    for round_ in range(1, RECOVERY_ROUNDS + 1):
        await held.pop().close()
        result = await ctx.try_connect(label=f"again{round_}")
        if isinstance(result, HandshakeRefused):
            raise Fail(f"round {round_}: reconnect right after a close refused (HTTP {result.status})")
        frame = await result.request(reset_frame(ctx))
        if frame.get("type") != "observation":
            raise Fail(f"round {round_}: reconnect right after a close got {frame.get('type')!r} "
                       f"{json.dumps(frame.get('data'))[:200]}")  # fmt: skip
        held.append(result)
    return None


@check(
    "concurrency.mcp_sessions_count",
    title="MCP sessions count against max_sessions: create at capacity → -32000 with details",
    clauses=["OE-MCP-031"],
)
async def mcp_sessions_count(ctx: CaseContext) -> str | None:
    limit, top = await _limit(ctx)
    held, refusal, _ = await fill_to_capacity(ctx, v1=False, limit=limit, declared=top)
    if isinstance(refusal, Conn):
        await refusal.close()
    payload = {"jsonrpc": "2.0", "method": "openenv/session/create", "id": 1}
    resp = await ctx.http_call("POST", "/mcp", json_body=payload)
    try:
        body = resp.json()
    except ValueError:
        raise Fail("POST /mcp body is not JSON") from None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") == -32601:
        raise Unimplemented("openenv/session/create is not implemented")
    if not isinstance(error, dict):
        sid = (body.get("result") or {}).get("session_id") if isinstance(body, dict) else None
        if sid:
            await ctx.http_call("POST", "/mcp", json_body={
                "jsonrpc": "2.0", "method": "openenv/session/close",
                "params": {"session_id": sid}, "id": 2})  # fmt: skip
        raise Fail(f"an MCP session was created with {len(held)} sessions at capacity")
    data = error.get("data") or {}
    if error.get("code") != -32000 or not isinstance(data.get("max_sessions"), int):
        raise Fail(f"create at capacity → {json.dumps(error)[:200]}, expected -32000 + counts")
    return None


MAX_IDLE_WAIT_S = 10.0
"""Idle timeouts longer than this are not waited for (the check is then UNIMPLEMENTED)."""


async def _short_idle_timeout(ctx: CaseContext) -> float:
    limits = await metadata_limits(ctx)
    idle = limits.get("idle_timeout_s") if limits else None
    if not isinstance(idle, int | float) or idle <= 0:
        raise Unimplemented("the server advertises no idle_timeout_s")
    if idle > MAX_IDLE_WAIT_S:
        raise Unimplemented(f"idle_timeout_s {idle:g} is longer than the {MAX_IDLE_WAIT_S:g}s "
                            "this check waits; configure a short one to test it")  # fmt: skip
    return float(idle)


@check(
    "concurrency.idle_timeout",
    title="an idle session is closed with 1001 after idle_timeout_s (when short enough to wait)",
    clauses=["OE-LIM-009"],
    timeout_s=MAX_IDLE_WAIT_S * 2 + 10,
)
async def idle_timeout(ctx: CaseContext) -> str | None:
    idle = await _short_idle_timeout(ctx)
    conn = await ctx.connect()
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    early = await conn.wait_closed(idle * 0.5)
    if early is not None:
        raise Fail(f"closed after less than half of idle_timeout_s ({idle:g}s)")
    closed = await conn.wait_closed(idle * 1.5 + ctx.timeout_s)
    if closed is None:
        raise Fail(f"still open {idle * 2 + ctx.timeout_s:g}s after the last frame")
    if closed.code != 1001:
        raise Fail(f"idle close code {closed.code}, expected 1001")
    return None


@check(
    "concurrency.mcp_session_expiry",
    title="an unattached MCP session is destroyed after idle_timeout_s",
    clauses=["OE-MCP-032"],
    timeout_s=MAX_IDLE_WAIT_S * 2 + 10,
)
async def mcp_session_expiry(ctx: CaseContext) -> str | None:
    idle = await _short_idle_timeout(ctx)
    rpc = {"jsonrpc": "2.0", "method": "openenv/session/create", "id": 1}
    body = (await ctx.http_call("POST", "/mcp", json_body=rpc)).json()
    sid = (body.get("result") or {}).get("session_id") if isinstance(body, dict) else None
    if not isinstance(sid, str):
        raise Unimplemented("openenv/session/create is not implemented")
    await asyncio.sleep(idle * 1.5 + 0.5)
    probe = {"jsonrpc": "2.0", "method": "tools/list", "params": {"session_id": sid}, "id": 2}
    reply = (await ctx.http_call("POST", "/mcp", json_body=probe)).json()
    if (reply.get("error") or {}).get("code") != -32602:
        raise Fail(f"session {sid} still usable {idle * 1.5 + 0.5:g}s after idle_timeout_s")
    return None
