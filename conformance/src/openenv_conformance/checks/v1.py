"""Profile `v1`: the negotiated `openenv.v1` extensions.

Contract: every check offers the `openenv.v1` subprotocol; when the server does not select it the
check is UNIMPLEMENTED (v1 is optional). Otherwise: hello frame, request-id echo on replies and
errors, `terminated`/`truncated`, numeric rewards, EPISODE_NOT_STARTED / EPISODE_ENDED with the
connection kept open, error-before-close with meaningful close codes, `/metadata` limits and
capacity refused with HTTP 503 before the upgrade. `v1.base_mode.no_v1_codes` checks the reverse:
a base-mode client never sees a v1-only code.
"""

from __future__ import annotations

import asyncio
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
import json

from openenv_conformance.context import (
    V1,
    CaseContext,
    HandshakeRefused,
    dumps,
    expect_error,
    expect_type,
)
from openenv_conformance.model import Level
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


def _need_v1(ctx: CaseContext) -> None:
    if not disc(ctx).v1_selected:
        raise Unimplemented(f"the server does not select the {V1} subprotocol")


@check("v1.negotiate", title="offering openenv.v1 selects it (optional feature)", level=Level.MAY)
async def negotiate(ctx: CaseContext) -> str | None:
    result = await ctx.try_connect(subprotocols=[V1, "x-unknown.v9"])
    if isinstance(result, HandshakeRefused):
        raise Fail(f"upgrade offering {V1} refused with HTTP {result.status}")
    if result.subprotocol is None:
        raise Unimplemented(f"the server ignores the {V1} offer (base level only)")
    if result.subprotocol != V1:
        raise Fail(f"server selected {result.subprotocol!r}, which is not openenv.v1")
    return None


@check("v1.hello", title="the first v1 frame is the session hello with limits")
async def hello(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    conn = await ctx.connect(subprotocols=[V1])
    frame = await conn.recv(what="the hello frame")
    data = expect_type(frame, "session", "first frame")
    if data.get("protocol") != V1:
        raise Fail(f"hello protocol is {data.get('protocol')!r}, expected {V1!r}")
    if not isinstance(data.get("session_id"), str) or not data["session_id"]:
        raise Fail("hello has no session_id string")
    errors = ctx.run.schemas.errors("Limits", data.get("limits"))
    if errors:
        raise Fail(f"hello limits do not validate: {'; '.join(errors)}")
    return None


@check("v1.id.echo", title="replies and errors echo the request id, in request order")
async def id_echo(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    action = disc(ctx).valid_action()
    requests: list[dict[str, Any]] = [
        {**reset_frame(ctx), "id": "r-1"},
        {"type": "state", "id": 2},
        {**step_frame(action), "id": "s-3"},
        {"type": "frobnicate", "id": 4},
        {"type": "state", "id": 9007199254740991},
    ]
    for req in requests:
        await conn.send(req)
    for req in requests:
        reply = await conn.recv(what=f"the reply to id {req['id']!r}")
        if reply.get("id") != req["id"]:
            raise Fail(f"reply {dumps(reply)[:200]} carries id {reply.get('id')!r}, "
                       f"expected {req['id']!r} (in request order)")  # fmt: skip
    return None


@check("v1.observation.flags", title="observations carry terminated/truncated; done == t or t")
async def flags(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    datas = [expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")]
    action = disc(ctx).valid_action()
    for _ in range(3):
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


@check("v1.observation.reward", title="reward is a finite number or null (never a boolean)")
async def reward(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    datas = [expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")]
    datas.append(await step_ok(conn, disc(ctx).valid_action()))
    for data in datas:
        r = data.get("reward")
        ok = r is None or (
            isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r)
        )
        if not ok:
            raise Fail(f"reward {dumps(r)} is not a finite number or null")
    return None


@check("v1.episode.not_started", title="step before reset → EPISODE_NOT_STARTED, stays open")
async def not_started(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    frame = await conn.request({**step_frame(disc(ctx).valid_action()), "id": 1})
    expect_error(frame, ("EPISODE_NOT_STARTED",), "step before reset")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset after the error")
    return None


@check("v1.episode.ended", title="step after done → EPISODE_ENDED, stays open")
async def ended(ctx: CaseContext) -> str | None:
    conn = await open_conn(ctx, v1=True)
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    action = disc(ctx).valid_action()
    for _ in range(MAX_EPISODE_STEPS):
        if (await step_ok(conn, action)).get("done") is True:
            break
    else:
        raise Undecided(f"the episode did not end within {MAX_EPISODE_STEPS} steps")
    expect_error(await conn.request(step_frame(action)), ("EPISODE_ENDED",), "step after done")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset after the error")
    return None


@check("v1.limits.message_too_large", title="oversized frame → MESSAGE_TOO_LARGE error, close 1009")
async def too_large(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    limits = await metadata_limits(ctx)
    if not limits or not isinstance(limits.get("max_message_bytes"), int):
        raise Fail("/metadata advertises no limits.max_message_bytes")
    size = limits["max_message_bytes"] + 1
    if size > 64 * 1024 * 1024:
        raise Undecided(f"max_message_bytes {size - 1} is too large to probe")
    conn = await open_conn(ctx, v1=True)
    pad = "x" * size
    await conn.send_text(dumps({"type": "reset", "data": {"pad": pad}}))
    frame = await conn.recv_raw()
    if not isinstance(frame, str):
        raise Fail("server closed (or went silent) without an error frame first")
    frame_obj = json.loads(frame)
    expect_error(frame_obj, ("MESSAGE_TOO_LARGE",), "oversized frame")
    closed = await conn.wait_closed()
    if closed is None or closed.code != 1009:
        raise Fail(f"expected close code 1009 after MESSAGE_TOO_LARGE, got {closed}")
    return None


@check("v1.metadata.limits", title="/metadata lists openenv.v1 and the four limits")
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


@check("v1.capacity.before_upgrade", title="capacity refused with HTTP 503 + Retry-After before upgrade")
async def capacity(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    limits = await metadata_limits(ctx)
    top = limits.get("max_sessions") if limits else None
    if not isinstance(top, int) or top > MAX_CAPACITY_PROBE:
        raise Undecided(f"limits.max_sessions {top!r} unknown or too large to fill")
    held, refusal, _ = await fill_to_capacity(ctx, v1=True, limit=top + 1)
    if not isinstance(refusal, HandshakeRefused):
        raise Fail(f"session {len(held) + 1} (> max_sessions={top}) was upgraded, then refused")
    if refusal.status != 503:
        raise Fail(f"refused with HTTP {refusal.status}, expected 503")
    if "retry-after" not in refusal.headers:
        raise Fail("503 refusal has no Retry-After header")
    try:
        body = json.loads(refusal.body)
    except ValueError:
        raise Fail("503 body is not JSON") from None
    expect_error(body, ("CAPACITY_REACHED",), "503 body")
    for conn in held:
        await conn.close()
    await asyncio.sleep(0)
    return None


@check("v1.base_mode.no_v1_codes", title="a base-mode client never receives a v1-only error code")
async def no_v1_codes(ctx: CaseContext) -> str | None:
    _need_v1(ctx)
    conn = await ctx.connect()
    action = disc(ctx).valid_action()
    await conn.send(step_frame(action))  # before reset
    frames = [await conn.recv()]
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
            raise Fail(f"base-mode client received v1-only code {code}")
    return None
