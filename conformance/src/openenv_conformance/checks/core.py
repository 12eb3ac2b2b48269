"""Profile `core`: the base-level (openenv 0.10 wire) WebSocket lifecycle on `/ws`.

Contract: each check opens its own connection(s) without offering a subprotocol, drives
reset/step/state/close, and checks envelopes, `episode_id`/`step_count` contracts, error codes and
whether the connection stays open. `core.frames.schema` runs last and fails when any server frame
seen by any case did not validate against the base (or, in v1 mode, the V1) server schema.
"""

from __future__ import annotations

import uuid

from openenv_conformance.checks._common import (
    MAX_EPISODE_STEPS,
    disc,
    obs_payload,
    reset_frame,
    session,
    state_of,
    step_frame,
    step_ok,
)
from openenv_conformance.context import CaseContext, dumps, expect_error, expect_type, field_of
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail


@check("core.ws.upgrade", title="GET /ws upgrades to a WebSocket; no subprotocol unless offered")
async def ws_upgrade(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    if conn.subprotocol is not None:
        raise Fail(f"server selected subprotocol {conn.subprotocol!r} although none was offered")
    return None


@check("core.reset.envelope", title="reset is answered by an observation frame")
async def reset_envelope(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    data = expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    obs_payload(data)
    if not isinstance(data.get("done"), bool):
        raise Fail(f"observation data.done is not a boolean: {dumps(data.get('done'))}")
    if "reward" not in data:
        raise Fail("observation data has no 'reward' key")
    return None


@check("core.reset.no_data", title="reset without data is accepted")
async def reset_no_data(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    expect_type(await conn.request({"type": "reset"}), "observation", "reset without data")
    return None


@check("core.step.envelope", title="step with a valid action is answered by an observation")
async def step_envelope(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    data = await step_ok(conn, disc(ctx).valid_action())
    obs_payload(data)
    if not isinstance(data.get("done"), bool):
        raise Fail("step observation data.done is not a boolean")
    if "reward" not in data:
        raise Fail("step observation data has no 'reward' key")
    return None


@check("core.state.envelope", title="state is answered by a state frame with episode_id/step_count")
async def state_envelope(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    data = await state_of(conn)
    eid = field_of({"d": data}, "d", "episode_id")
    count = field_of({"d": data}, "d", "step_count")
    if eid is not None and not isinstance(eid, str):
        raise Fail(f"state episode_id is neither a string nor null: {dumps(eid)}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise Fail(f"state step_count is not a non-negative integer: {dumps(count)}")
    if count != 0:
        raise Fail(f"step_count right after reset is {count}, expected 0")
    return None


@check("core.state.episode_id_echo", title="state echoes the episode_id given to reset")
async def episode_id_echo(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    wanted = f"conformance-{uuid.UUID(int=ctx.rng.getrandbits(128))}"
    reply = await conn.request(reset_frame(ctx, episode_id=wanted))
    expect_type(reply, "observation", "reset with episode_id")
    got = (await state_of(conn)).get("episode_id")
    if got != wanted:
        raise Fail(f"reset(episode_id={wanted!r}) but state.episode_id is {got!r}")
    return None


@check("core.state.step_count", title="step_count counts the steps since the last reset")
async def step_count(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    action = disc(ctx).valid_action()
    steps = 0
    for _ in range(3):
        data = await step_ok(conn, action)
        steps += 1
        count = (await state_of(conn)).get("step_count")
        if count != steps:
            raise Fail(f"after {steps} step(s) since reset, step_count is {count!r}")
        if data.get("done") is True:
            break
    expect_type(await conn.request(reset_frame(ctx)), "observation", "second reset")
    count = (await state_of(conn)).get("step_count")
    if count != 0:
        raise Fail(f"step_count after a second reset is {count!r}, expected 0")
    return None


@check("core.order.pipelined", title="pipelined requests are answered in request order")
async def pipelined(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    action = disc(ctx).valid_action()
    frames = [reset_frame(ctx), {"type": "state"}, step_frame(action), {"type": "state"}]
    for frame in frames:
        await conn.send(frame)
    expected = ["observation", "state", "observation", "state"]
    got = [str((await conn.recv(what=f"reply {n + 1}")).get("type")) for n in range(4)]
    if got != expected:
        raise Fail(f"replies arrived as {got}, expected {expected}")
    return None


@check("core.episode.done_reachable", title="episodes report done; stepping ends within bounds")
async def done_reachable(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    action = disc(ctx).valid_action()
    for n in range(1, MAX_EPISODE_STEPS + 1):
        data = await step_ok(conn, action)
        if data.get("done") is True:
            return f"done after {n} step(s)"
    return f"not done after {MAX_EPISODE_STEPS} identical steps (allowed: episodes may be long)"


async def _error_keeps_open(ctx: CaseContext, raw: str, codes: tuple[str, ...], what: str) -> None:
    conn = await session(ctx)
    await conn.send_text(raw)
    expect_error(await conn.recv(what=f"the error for {what}"), codes, what)
    reply = await conn.request({"type": "state"}, what="the state reply after the error")
    expect_type(reply, "state", f"state after {what}")


@check("core.error.invalid_json", title="malformed JSON → INVALID_JSON, connection stays open")
async def invalid_json(ctx: CaseContext) -> str | None:
    await _error_keeps_open(ctx, "{not json", ("INVALID_JSON",), "malformed JSON")
    return None


@check("core.error.unknown_type", title="unknown type → UNKNOWN_TYPE, connection stays open")
async def unknown_type(ctx: CaseContext) -> str | None:
    await _error_keeps_open(ctx, '{"type":"frobnicate"}', ("UNKNOWN_TYPE",), "an unknown type")
    return None


@check("core.error.missing_type", title="object without type → UNKNOWN_TYPE, stays open")
async def missing_type(ctx: CaseContext) -> str | None:
    await _error_keeps_open(ctx, '{"data":{}}', ("UNKNOWN_TYPE",), "a frame without 'type'")
    return None


@check("core.error.step_without_data", title="step without data → VALIDATION_ERROR, stays open")
async def step_without_data(ctx: CaseContext) -> str | None:
    await _error_keeps_open(ctx, '{"type":"step"}', ("VALIDATION_ERROR",), "step without data")
    return None


@check("core.error.invalid_action", title="an action the schema rejects → VALIDATION_ERROR")
async def invalid_action(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    if found.is_mcp_env:
        bad: object = {"type": "call_tool"}  # tool_name missing
    elif found.action_schema is not None and found.action_schema.get("required"):
        bad = {"zz_not_a_field": [1]}
    else:
        bad = ["not", "an", "object"]
    await _error_keeps_open(ctx, dumps(step_frame(bad)), ("VALIDATION_ERROR",), "invalid action")  # type: ignore[arg-type]
    return None


@check("core.close.client_close", title="close → no reply; server closes normally (1000)")
async def client_close(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    await conn.send({"type": "close"})
    frame = await conn.recv_raw()
    if frame is None:
        raise Fail("server did not close the connection after a close request")
    if not (hasattr(frame, "code")):
        raise Fail(f"server replied to close instead of closing: {str(frame)[:200]}")
    closed = await conn.wait_closed()
    if closed is None or closed.code != 1000:
        raise Fail(f"close code {closed.code if closed else None}, expected 1000")
    return None


@check("core.frames.schema", title="every server frame seen in this run validates")
async def frames_schema(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    await conn.request({"type": "state"})
    await conn.request(step_frame(disc(ctx).valid_action()))
    await conn.send_text('{"type":"nope"}')
    await conn.recv()
    bad = ctx.run.violations
    if bad:
        cases = sorted({v.case_id for v in bad})
        first = bad[0]
        raise Fail(
            f"{len(bad)} server frame(s) did not validate (cases: {', '.join(cases)}); first, "
            f"against {first.schema}: {first.frame[:300]} — {'; '.join(first.errors)}"
        )
    return None
