"""Profile `robustness`: hostile or odd clients must not hurt the server or other sessions.

Contract: each check first opens an *observer* session (reset + one step) and at the end checks
that the observer still answers with its own step_count, and that a fresh session can be opened
(the server survived). In between it sends invalid JSON, non-object JSON, binary frames, `NaN`
literals, oversized frames, abrupt TCP drops, slow fragmented frames, rapid connect/disconnect
cycles, and schema-driven fuzzed actions (valid and invalid).
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
from collections.abc import AsyncIterator
from typing import Any

from openenv_conformance.actions import invalid_instances
from openenv_conformance.checks._common import (
    disc,
    metadata_limits,
    observer_ok,
    reset_frame,
    server_alive,
    session,
    state_of,
    step_frame,
    step_ok,
)
from openenv_conformance.context import CaseContext, Closed, Conn, dumps, expect_error, expect_type
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided

DEFAULT_OVERSIZE = 17 * 1024 * 1024
DEFAULT_ACCEPTED = 1024 * 1024
MAX_OVERSIZE = 64 * 1024 * 1024
RAPID_CYCLES = 30
SLOW_FRAGMENTS = 5
SLOW_GAP_S = 0.08


async def _observer(ctx: CaseContext, *, required: bool = False) -> Conn | None:
    """A session with one step behind it; its state is the baseline `_survived` compares to.

    None on a server that allows one session (the observer part is skipped and said so, the
    check's own judgement still runs), unless the check cannot judge without it (`required`).
    """
    limit = ctx.run.cache.get("max_sessions")
    if isinstance(limit, int) and limit < 2 and not required:
        ctx.note("harness", "note", f"no observer session: the server allows {limit} session(s)")
        ctx.run.cache[f"observer:{ctx.case_id}"] = None
        return None
    conn = await session(ctx, label="observer")
    await step_ok(conn, disc(ctx).valid_action())
    ctx.run.cache[f"observer:{ctx.case_id}"] = await state_of(conn)
    return conn


async def _survived(ctx: CaseContext, observer: Conn | None) -> None:
    if observer is not None:
        await observer_ok(ctx, observer, ctx.run.cache[f"observer:{ctx.case_id}"])
    await server_alive(ctx)


async def _error_then_open(ctx: CaseContext, send: Any, codes: tuple[str, ...], what: str) -> None:
    observer = await _observer(ctx)
    conn = await session(ctx, label="client")
    await send(conn)
    frame = await conn.recv(what=f"the error for {what}")
    expect_error(frame, codes, what)
    expect_type(await conn.request({"type": "state"}), "state", f"state after {what}")
    await _survived(ctx, observer)


@check(
    "robustness.binary_frame",
    title="binary frame → INVALID_JSON, connection stays open",
    clauses=["OE-WS-005", "OE-ERR-002", "OE-GEN-001"],
)
async def binary_frame(ctx: CaseContext) -> str | None:
    async def send(conn: Conn) -> None:
        await conn.send_bytes(b'{"type":"state"}')

    await _error_then_open(ctx, send, ("INVALID_JSON",), "a binary frame")
    return None


@check(
    "robustness.non_object_json",
    title="JSON that is not an object → VALIDATION_ERROR, open",
    clauses=["OE-WS-007", "OE-ERR-002", "OE-GEN-001"],
)
async def non_object(ctx: CaseContext) -> str | None:
    async def send(conn: Conn) -> None:
        await conn.send_text("[1,2,3]")

    await _error_then_open(ctx, send, ("VALIDATION_ERROR",), "a JSON array")
    return None


@check(
    "robustness.nan_literal",
    title="NaN/Infinity literals are invalid JSON → INVALID_JSON",
    clauses=["OE-GEN-012"],
)
async def nan_literal(ctx: CaseContext) -> str | None:
    async def send(conn: Conn) -> None:
        await conn.send_text('{"type":"reset","data":{"seed":NaN}}')

    await _error_then_open(ctx, send, ("INVALID_JSON",), "a NaN literal")
    resp = await ctx.http_call(
        "POST",
        "/mcp",
        content='{"jsonrpc":"2.0","method":"tools/list","id":NaN}',
        headers={"content-type": "application/json"},
    )
    try:
        code = (resp.json().get("error") or {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if resp.status_code != 404 and code != -32700:
        raise Fail(f"POST /mcp with a NaN literal → error {code}, expected -32700")
    resp = await ctx.http_call("POST", "/reset", content='{"seed":NaN}', headers={"content-type": "application/json"})
    if resp.status_code not in (404, 422):
        raise Fail(f"POST /reset with a NaN literal → HTTP {resp.status_code}, expected 422")
    return None


@check(
    "robustness.large_frame_accepted",
    title="a message up to max_message_bytes (or 1 MiB when none is advertised) is accepted",
    clauses=["OE-LIM-004"],
)
async def large_frame(ctx: CaseContext) -> str | None:
    limits = await metadata_limits(ctx)
    size = DEFAULT_ACCEPTED
    if limits and isinstance(limits.get("max_message_bytes"), int):
        size = min(limits["max_message_bytes"], MAX_OVERSIZE)
    conn = await session(ctx, label="large")
    overhead = len(dumps({"type": "reset", "data": {"pad": ""}}))
    await conn.send_text(dumps({"type": "reset", "data": {"pad": "x" * (size - overhead)}}))
    frame = await conn.recv_raw(ctx.timeout_s * 2)
    if not isinstance(frame, str):
        raise Fail(f"a {size}-byte message (within the limit) closed or stalled the connection")
    obj = json.loads(frame)
    if obj.get("type") == "error" and obj["data"].get("code") in ("MESSAGE_TOO_LARGE",):
        raise Fail(f"a {size}-byte message (within the limit) was refused as too large")
    expect_type(await conn.request({"type": "state"}), "state", "state after the large frame")
    ctx.metrics["bytes"] = float(size)
    return f"{size}-byte message answered with {obj.get('type')!r}"


@check(
    "robustness.oversized_frame",
    title="an oversized frame is refused; the server survives",
    clauses=["OE-LIM-005", "OE-GEN-001"],
)
async def oversized(ctx: CaseContext) -> str | None:
    limits = await metadata_limits(ctx)
    size = DEFAULT_OVERSIZE
    if limits and isinstance(limits.get("max_message_bytes"), int):
        size = limits["max_message_bytes"] + 1
    if size > MAX_OVERSIZE:
        raise Undecided(f"limit {size - 1} bytes is larger than the harness sends")
    observer = await _observer(ctx)
    conn = await session(ctx, label="client")
    await conn.send_text(dumps({"type": "reset", "data": {"pad": "x" * size}}))
    frame = await conn.recv_raw(ctx.timeout_s * 2)
    if frame is None:
        raise Fail(f"no error and no close within {ctx.timeout_s * 2:g}s after a {size}-byte frame")
    if isinstance(frame, str):
        obj = json.loads(frame)
        if obj.get("type") != "error":
            raise Fail(f"a {size}-byte frame (over the limit) was processed: {frame[:200]}")
        closed = await conn.wait_closed()
        note = f"error {obj['data'].get('code')} then {closed.code if closed else 'open'}"
    else:
        assert isinstance(frame, Closed)
        if frame.code not in (1009, 1008):
            raise Fail(f"closed with code {frame.code}, expected 1009 (message too big)")
        note = f"closed with {frame.code}"
    await _survived(ctx, observer)
    return note


@check(
    "robustness.abrupt_disconnect",
    title="a TCP drop mid-session does not hurt the server",
    clauses=["OE-GEN-002", "OE-GEN-001"],
)
async def abrupt(ctx: CaseContext) -> str | None:
    observer = await _observer(ctx)
    conn = await session(ctx, label="dropper")
    await conn.send(step_frame(disc(ctx).valid_action()))
    await conn.abort()
    await asyncio.sleep(0.05)
    await _survived(ctx, observer)
    return None


async def _slow_fragments(conn: Conn, text: str) -> AsyncIterator[str]:
    size = max(1, len(text) // SLOW_FRAGMENTS + 1)
    for i in range(0, len(text), size):
        yield text[i : i + size]
        await asyncio.sleep(SLOW_GAP_S)


@check(
    "robustness.slow_sender",
    title="a slow, fragmented frame does not block other sessions",
    clauses=["OE-GEN-010"],
)
async def slow_sender(ctx: CaseContext) -> str | None:
    observer = await _observer(ctx, required=True)
    assert observer is not None
    slow = await session(ctx, label="slow")
    frame = dumps({"type": "state"})
    ctx.note(slow.label, "send", f"{frame} in {SLOW_FRAGMENTS} fragments, {SLOW_GAP_S}s apart")
    sending = asyncio.create_task(slow.ws.send(_slow_fragments(slow, frame)))
    worst = 0.0
    while not sending.done():
        t = time.perf_counter()
        await observer.request({"type": "state"})
        worst = max(worst, time.perf_counter() - t)
    await sending
    expect_type(await slow.recv(what="the reply to the slow frame"), "state", "slow frame")
    ctx.metrics["observer_worst_ms"] = round(worst * 1000.0, 3)
    if worst > SLOW_GAP_S * SLOW_FRAGMENTS:
        raise Fail(f"observer waited {worst:.2f}s while another client sent slowly")
    await _survived(ctx, observer)
    return None


@check(
    "robustness.rapid_connect",
    title="rapid connect/disconnect cycles leave the server usable",
    clauses=["OE-GEN-002", "OE-LIM-014"],
)
async def rapid(ctx: CaseContext) -> str | None:
    observer = await _observer(ctx)
    for i in range(RAPID_CYCLES):
        result = await ctx.try_connect(label=f"r{i + 1}")
        if isinstance(result, Conn):
            if i % 2:
                await result.abort()
            else:
                await result.close()
    await _survived(ctx, observer)
    return None


@check(
    "robustness.fuzz.invalid_actions",
    title="schema-violating actions → VALIDATION_ERROR",
    clauses=["OE-WS-014", "OE-WS-010"],
)
async def fuzz_invalid(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    schema = found.action_schema
    if schema is None:
        why = "; --action gives a valid action but no schema to violate" if found.override is not None else ""
        raise Undecided(f"no action schema from /schema to derive invalid actions from{why}")
    cases = invalid_instances(schema, ctx.rng)
    validator = found.action_validator()
    assert validator is not None
    cases = [(d, v) for d, v in cases if not validator.is_valid(v)][: ctx.options.fuzz_examples]
    observer = await _observer(ctx)
    conn = await session(ctx, label="fuzz")
    for what, action in cases:
        frame = await conn.request(step_frame(action), what=f"the reply to an action with {what}")
        expect_error(frame, ("VALIDATION_ERROR",), f"action with {what}")
    await _survived(ctx, observer)
    return f"{len(cases)} invalid actions rejected"


@check(
    "robustness.fuzz.valid_actions",
    title="random valid actions are never rejected as invalid",
    clauses=["OE-WS-014", "OE-HTTP-006"],
)
async def fuzz_valid(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    conn = await session(ctx, label="fuzz")
    n = ctx.options.fuzz_examples
    for _ in range(n):
        action = found.random_action(ctx.rng)
        frame = await conn.request(step_frame(action))
        if frame.get("type") == "error":
            code = (frame.get("data") or {}).get("code")
            if code in ("VALIDATION_ERROR", "UNKNOWN_TYPE", "INVALID_JSON"):
                raise Fail(f"valid action {dumps(action)[:200]} rejected with {code}")
        elif expect_type(frame, "observation", "step").get("done") is True:
            expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    return f"{n} random valid actions accepted"


def _junk_envelope(rng: random.Random) -> dict[str, Any]:
    word = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 12)))
    choices: list[dict[str, Any]] = [
        {"type": word},
        {"type": rng.choice(["reset", "step", "state", "close"]).upper()},
        {"type": None},
        {"type": rng.randint(-5, 5)},
        {"type": "state", word: rng.random()},
        {"type": "step", "data": rng.choice([1, "x", None, [1]])},
    ]
    return rng.choice(choices)


@check(
    "robustness.fuzz.envelopes",
    title="malformed envelopes get error frames; session stays open",
    clauses=["OE-WS-008", "OE-WS-009"],
)
async def fuzz_envelopes(ctx: CaseContext) -> str | None:
    observer = await _observer(ctx)
    conn = await session(ctx, label="fuzz")
    for _ in range(ctx.options.fuzz_examples):
        junk = _junk_envelope(ctx.rng)
        frame = await conn.request(junk, what=f"the reply to {dumps(junk)}")
        expect_error(frame, ("UNKNOWN_TYPE", "VALIDATION_ERROR"), f"envelope {dumps(junk)}")
    expect_type(await conn.request({"type": "state"}), "state", "state after the fuzzing")
    await _survived(ctx, observer)
    return None
