"""Profile `v1`: the negotiated `openenv.v1` extensions.

Contract: every check offers the `openenv.v1` subprotocol; when the server does not select it the
check is UNIMPLEMENTED (v1 is optional). Otherwise: hello frame, request-id echo on replies and
errors, invalid ids, `terminated`/`truncated`, numeric rewards, EPISODE_NOT_STARTED /
EPISODE_ENDED with the connection kept open, strict typing, error locations, error-before-close
with close code 1009, `/metadata` limits, and capacity refused with HTTP 503 before the upgrade.
`v1.base_mode.no_v1_codes` checks the reverse: a base-mode client never sees a v1-only code.
"""

from __future__ import annotations

import json
import math
from typing import Any

from openenv_conformance.checks._common import (
    MAX_EPISODE_STEPS,
    disc,
    fill_to_capacity,
    metadata_limits,
    open_conn,
    reset_frame,
    step_frame,
    step_ok,
)
from openenv_conformance.context import (
    V1,
    CaseContext,
    HandshakeRefused,
    dumps,
    expect_error,
    expect_type,
)
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

V1_ONLY_CODES = (
    "EPISODE_NOT_STARTED",
    "EPISODE_ENDED",
    "STEP_TIMEOUT",
    "MESSAGE_TOO_LARGE",
    "IDLE_TIMEOUT",
)
MAX_CAPACITY_PROBE = 256
MAX_PROBE_BYTES = 64 * 1024 * 1024


def _need_v1(ctx: CaseContext) -> None:
    found = disc(ctx)
    if not found.v1_selected:
        if V1 in found.declared_protocols:  # a promise broken is a FAIL, not UNIMPLEMENTED
            raise Fail(f"/metadata lists {V1} in protocols, but the upgrade offering it does not select it")
        raise Unimplemented(f"the server does not select the {V1} subprotocol")


@check(
    "v1.negotiate",
    title="offering openenv.v1 (with an unknown token) selects openenv.v1 (a FAIL where /metadata lists it)",
    clauses=["OE-V1-002", "OE-V1-004", "OE-WS-002", "OE-V1-006"],
)
async def negotiate(ctx: CaseContext) -> str | None:
    result = await ctx.try_connect(subprotocols=[V1, "x-unknown.v9"])
    if isinstance(result, HandshakeRefused):
        raise Fail(f"upgrade offering {V1} refused with HTTP {result.status}")
    if result.subprotocol is None:
        if V1 in disc(ctx).declared_protocols:
            raise Fail(f"/metadata lists {V1} in protocols (OE-V1-006), but the server ignores the offer")
        raise Unimplemented(f"the server ignores the {V1} offer (base level only)")
    if result.subprotocol != V1:
        raise Fail(f"server selected {result.subprotocol!r}, which is not openenv.v1")
    return None


@check(
    "v1.hello",
    title="the first v1 frame is the session hello; its limits equal /metadata.limits",
    clauses=["OE-V1-010", "OE-V1-011", "OE-V1-022", "OE-LIM-002"],
)
async def hello(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    conn = await ctx.connect(subprotocols=[V1])
    frame = await conn.recv(what="the hello frame")
    data = expect_type(frame, "session", "first frame")
    if "id" in frame:
        raise Fail("the hello frame carries an 'id'")
    if data.get("protocol") != V1:
        raise Fail(f"hello protocol is {data.get('protocol')!r}, expected {V1!r}")
    sid = data.get("session_id")
    if not isinstance(sid, str) or not 1 <= len(sid) <= 128:
        raise Fail("hello has no session_id of 1..128 characters")
    errors = ctx.run.schemas.errors("Limits", data.get("limits"))
    if errors:
        raise Fail(f"hello limits do not validate: {'; '.join(errors)}")
    if data["limits"] != await metadata_limits(ctx):
        raise Fail("hello limits differ from /metadata.limits")
    limit = ctx.run.cache.get("max_sessions")
    if isinstance(limit, int) and limit < 2:  # distinct live ids need two sessions at once
        return f"one session allowed (max_sessions {limit}): distinct live session ids not compared"
    other = await ctx.connect(subprotocols=[V1])
    other_id = expect_type(await other.recv(), "session", "second hello").get("session_id")
    if other_id == sid:
        raise Fail("two live sessions got the same session_id")
    return None


@check(
    "v1.id.echo",
    title="replies and errors echo the request id with type and value, in request order",
    clauses=["OE-V1-021", "OE-V1-024", "OE-V1-022"],
)
async def id_echo(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    action = disc(ctx).valid_action()
    requests: list[dict[str, Any]] = [
        {**reset_frame(ctx), "id": "r-1"},
        {"type": "state", "id": 2},
        {**step_frame(action), "id": "2"},
        {"type": "frobnicate", "id": 4},
        {"type": "state", "id": 9007199254740991},
        {"type": "state"},
    ]
    for req in requests:
        await conn.send(req)
    for req in requests:
        reply = await conn.recv(what=f"the reply to id {req.get('id')!r}")
        if "id" not in req:
            if "id" in reply:
                raise Fail(f"reply to a frame without id carries id {reply['id']!r}")
            continue
        got = reply.get("id")
        if got != req["id"] or type(got) is not type(req["id"]):
            raise Fail(f"reply {dumps(reply)[:200]} carries id {got!r}, expected "
                       f"{req['id']!r} (same type, request order)")  # fmt: skip
    return None


@check(
    "v1.id.invalid",
    title="an id of the wrong type or out of range → VALIDATION_ERROR at loc [id], no id echoed",
    clauses=["OE-V1-023", "OE-ERR-006"],
)
async def id_invalid(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    for bad in (True, -1, 2**53, "", "x" * 129, 1.5, None, [1]):
        frame = await conn.request({"type": "state", "id": bad}, what=f"the reply to id {bad!r}")
        expect_error(frame, ("VALIDATION_ERROR",), f"id {dumps(bad)[:20]}")
        if "id" in frame:
            raise Fail(f"the error for the invalid id {dumps(bad)[:20]} carries an id")
        locs = [e.get("loc") for e in (frame["data"].get("errors") or []) if isinstance(e, dict)]
        if ["id"] not in locs:
            raise Fail(f"invalid id {dumps(bad)[:20]}: no error with loc ['id'] (got {locs})")
    return None


@check(
    "v1.observation.flags",
    title="observations carry terminated/truncated; done == terminated or truncated",
    clauses=["OE-V1-030", "OE-V1-031"],
)
async def flags(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    datas = [expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")]
    action = disc(ctx).valid_action()
    for _ in range(MAX_EPISODE_STEPS):
        datas.append(await step_ok(conn, action))
        if datas[-1].get("done"):
            break
    for data in datas:
        t, tr, d = data.get("terminated"), data.get("truncated"), data.get("done")
        if not isinstance(t, bool) or not isinstance(tr, bool):
            raise Fail(f"terminated/truncated missing or not boolean: {dumps(data)[:300]}")
        if d != (t or tr):
            raise Fail(f"done={d} but terminated={t}, truncated={tr}")
    return None


@check(
    "v1.observation.reward",
    title="reward is a finite number or null (never a boolean)",
    clauses=["OE-V1-040", "OE-WS-020"],
)
async def reward(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    datas = [expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")]
    datas.append(await step_ok(conn, disc(ctx).valid_action()))
    for data in datas:
        r = data.get("reward")
        ok = r is None or (isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r))
        if not ok:
            raise Fail(f"reward {dumps(r)} is not a finite number or null")
    return None


@check(
    "v1.episode.not_started",
    title="step before reset → EPISODE_NOT_STARTED; state/reset still accepted",
    clauses=["OE-V1-050", "OE-V1-052", "OE-GEN-008", "OE-ERR-002"],
)
async def not_started(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    frame = await conn.request({**step_frame(disc(ctx).valid_action()), "id": 1})
    expect_error(frame, ("EPISODE_NOT_STARTED",), "step before reset")
    state = expect_type(await conn.request({"type": "state"}), "state", "state before reset")
    if state.get("step_count") != 0:
        raise Fail(f"state before the first reset reports step_count {state.get('step_count')!r}")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset after the error")
    return None


@check(
    "v1.episode.ended",
    title="step after done → EPISODE_ENDED; reset still accepted",
    clauses=["OE-V1-051", "OE-V1-052", "OE-GEN-008"],
)
async def ended(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    action = disc(ctx).valid_action()
    for _ in range(MAX_EPISODE_STEPS):
        if (await step_ok(conn, action)).get("done") is True:
            break
    else:
        raise Unimplemented(f"the episode did not end within {MAX_EPISODE_STEPS} steps")
    expect_error(await conn.request(step_frame(action)), ("EPISODE_ENDED",), "step after done")
    expect_type(await conn.request({"type": "state"}), "state", "state after the error")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset after the error")
    return None


@check(
    "v1.strict_typing",
    title="mistyped action members and reset parameters → VALIDATION_ERROR at data paths",
    clauses=["OE-GEN-015", "OE-WS-012", "OE-ERR-006"],
)
async def strict_typing(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    for bad in ({"seed": -1}, {"seed": "7"}, {"episode_id": ""}):
        frame = await conn.request({"type": "reset", "data": {**ctx.options.reset_data, **bad}})
        expect_error(frame, ("VALIDATION_ERROR",), f"reset {dumps(bad)}")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    frame = await conn.request({"type": "step"})
    expect_error(frame, ("VALIDATION_ERROR",), "step without data")
    locs = [e.get("loc") for e in frame["data"].get("errors") or [] if isinstance(e, dict)]
    if ["data"] not in locs:
        raise Fail(f"step without data: no error with loc ['data'] (got {locs})")
    found = disc(ctx)
    action = found.valid_action()
    props = (found.action_schema or {}).get("properties") or {}
    name = next((k for k, v in action.items() if isinstance(v, int) and not isinstance(v, bool)
                 and (props.get(k) or {}).get("type") == "integer"), None)  # fmt: skip
    if name is None:
        return "no integer action member to mistype"
    frame = await conn.request(step_frame({**action, name: str(action[name])}))
    expect_error(frame, ("VALIDATION_ERROR",), f"action with {name!r} as a string")
    locs = [e.get("loc") for e in frame["data"].get("errors") or [] if isinstance(e, dict)]
    if ["data", name] not in locs:
        raise Fail(f"mistyped action member: no error with loc ['data', {name!r}] (got {locs})")
    return None


@check(
    "v1.limits.message_too_large",
    title="a frame over max_message_bytes → MESSAGE_TOO_LARGE, then close 1009",
    clauses=["OE-LIM-006", "OE-V1-060", "OE-WS-028", "OE-LIM-002"],
)
async def too_large(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    limits = await metadata_limits(ctx)
    if not limits or not isinstance(limits.get("max_message_bytes"), int):
        raise Fail("/metadata advertises no limits.max_message_bytes")
    size = limits["max_message_bytes"] + 1
    if size > MAX_PROBE_BYTES:
        raise Undecided(f"max_message_bytes {size - 1} is too large to probe")
    conn = await open_conn(ctx, v1=True)
    overhead = len(dumps({"type": "reset", "data": {"pad": ""}}))
    await conn.send_text(dumps({"type": "reset", "data": {"pad": "x" * (size - overhead)}}))
    frame = await conn.recv_raw(ctx.timeout_s * 2)
    if not isinstance(frame, str):
        raise Fail("server closed (or went silent) without an error frame first")
    expect_error(json.loads(frame), ("MESSAGE_TOO_LARGE",), "oversized frame")
    closed = await conn.wait_closed()
    if closed is None or closed.code != 1009:
        raise Fail(f"expected close code 1009 after MESSAGE_TOO_LARGE, got {closed}")
    return None


@check(
    "v1.metadata.limits",
    title="/metadata lists openenv.v1 in protocols and the four limits",
    clauses=["OE-V1-006", "OE-V1-080", "OE-LIM-001"],
)
async def metadata(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    body = await ctx.get_json("/metadata")
    if not isinstance(body, dict):
        raise Fail("/metadata is not a JSON object")
    if V1 not in (body.get("protocols") or []):
        raise Fail(f"/metadata protocols {body.get('protocols')!r} does not list {V1}")
    errors = ctx.run.schemas.errors("Limits", body.get("limits"))
    if errors:
        raise Fail(f"/metadata limits: {'; '.join(errors)}")
    return None


@check(
    "v1.capacity.before_upgrade",
    title="at capacity a v1 handshake gets HTTP 503 + Retry-After + CAPACITY_REACHED body",
    clauses=["OE-V1-070", "OE-HTTP-024", "OE-ERR-012"],
)
async def capacity(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    limits = await metadata_limits(ctx)
    top = limits.get("max_sessions") if limits else None
    if not isinstance(top, int) or top > MAX_CAPACITY_PROBE:
        raise Unimplemented(f"limits.max_sessions {top!r} unknown or too large to fill")
    held, refusal, _ = await fill_to_capacity(ctx, v1=True, limit=top + 1)
    if not isinstance(refusal, HandshakeRefused):
        raise Fail(f"session {len(held) + 1} (> max_sessions={top}) was upgraded, then refused")
    if refusal.status != 503:
        raise Fail(f"refused with HTTP {refusal.status}, expected 503")
    retry = refusal.headers.get("retry-after", "")
    if not retry.isdigit() or int(retry) < 1:
        raise Fail(f"503 refusal Retry-After is {retry!r}, expected integer seconds >= 1")
    try:
        body = json.loads(refusal.body)
    except ValueError:
        raise Fail("503 body is not JSON") from None
    expect_error(body, ("CAPACITY_REACHED",), "503 body")
    data = body["data"]
    if not isinstance(data.get("active_sessions"), int) or data.get("max_sessions") != top:
        raise Fail(f"CAPACITY_REACHED data lacks active_sessions / max_sessions={top}")
    return None


@check(
    "v1.base_mode.no_v1_codes",
    title="a base-level client of a v1 server never receives v1-only codes or members",
    clauses=["OE-V1-090", "OE-V1-091", "OE-V1-003", "OE-GEN-007"],
)
async def no_v1_codes(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    conn = await ctx.connect()
    action = disc(ctx).valid_action()
    frames = [await conn.request(step_frame(action))]  # before reset
    frames.append(await conn.request(reset_frame(ctx)))
    for _ in range(MAX_EPISODE_STEPS):
        frame = await conn.request(step_frame(action))
        frames.append(frame)
        if frame.get("type") != "observation" or frame["data"].get("done") is True:
            break
    frames.append(await conn.request(step_frame(action)))  # after done
    for frame in frames:
        code = (frame.get("data") or {}).get("code") if frame.get("type") == "error" else None
        if code in V1_ONLY_CODES:
            raise Fail(f"base-level client received v1-only code {code}")
        if "id" in frame or frame.get("type") == "session":
            raise Fail(f"base-level client received a v1 member/frame: {dumps(frame)[:200]}")
    return None
