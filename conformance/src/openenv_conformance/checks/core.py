"""Profile `core`: the base-level (openenv 0.10 wire) WebSocket lifecycle on `/ws`.

Contract: each check opens its own connection(s) without offering a subprotocol, drives
reset/step/state/close, and checks envelopes, `episode_id`/`step_count` contracts, error codes and
whether the connection stays open. `core.frames.schema` and `core.errors.no_internals` run last
and judge every server frame / HTTP body seen by any case of the run.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from jsonschema import Draft202012Validator

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
from openenv_conformance.context import (
    CaseContext,
    Closed,
    Conn,
    dumps,
    expect_error,
    expect_type,
    field_of,
)
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Unimplemented


def check_observation(data: dict[str, Any], what: str) -> None:
    """OE-WS-018/019/020 and OE-V1-032 on a base-level observation `data`."""
    obs = obs_payload(data)
    if not isinstance(data.get("done"), bool):
        raise Fail(f"{what}: data.done is not a boolean: {dumps(data.get('done'))}")
    if "reward" not in data:
        raise Fail(f"{what}: data has no 'reward' member")
    reward = data["reward"]
    if isinstance(reward, bool):
        raise Fail(f"{what}: reward is a boolean (SHOULD NOT)", level=Level.SHOULD)
    if reward is not None and not isinstance(reward, int | float):
        raise Fail(f"{what}: reward {dumps(reward)} is neither a number nor null")
    if "reward" in obs or "done" in obs:
        raise Fail(f"{what}: data.observation carries reward/done")
    extra = set(data) - {"observation", "reward", "done", "metadata"}
    if extra:
        raise Fail(f"{what}: base-level observation data has extra members {sorted(extra)}")
    if "metadata" in data:
        if not data["metadata"]:
            raise Fail(f"{what}: top-level data.metadata is present but empty")
        if data["metadata"] != obs.get("metadata"):
            raise Fail(f"{what}: data.metadata differs from data.observation.metadata")


@check(
    "core.ws.upgrade",
    title="GET /ws upgrades without compression; no subprotocol unless offered",
    clauses=["OE-WS-001", "OE-WS-002", "OE-WS-003", "OE-V1-003"],
)
async def ws_upgrade(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    if conn.subprotocol is not None:
        raise Fail(f"server selected subprotocol {conn.subprotocol!r} although none was offered")
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    return None


@check(
    "core.ws.unknown_subprotocol",
    title="an unknown offered subprotocol is neither selected nor a reason to refuse",
    clauses=["OE-V1-004"],
)
async def unknown_subprotocol(ctx: CaseContext) -> str | None:
    result = await ctx.try_connect(subprotocols=["x-unknown.v9"])
    if not isinstance(result, Conn):
        raise Fail(f"handshake offering only an unknown token refused with HTTP {result.status}")
    if result.subprotocol is not None:
        raise Fail(f"server selected {result.subprotocol!r}, which was not offered as such")
    return None


@check("core.ws.ping", title="the server answers a WebSocket Ping with a Pong", clauses=["OE-WS-027"])
async def ws_ping(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    ctx.note(conn.label, "send", "<ping>")
    try:
        waiter = await conn.ws.ping(b"oe")
        latency = await asyncio.wait_for(waiter, ctx.timeout_s)
    except TimeoutError:
        raise Fail("no Pong within the timeout") from None
    except Exception as exc:
        raise Fail(f"ping failed: {exc!r}") from None
    ctx.note(conn.label, "recv", f"<pong after {latency * 1000:.1f} ms>")
    return None


@check(
    "core.reset.envelope",
    title="reset is answered by a well-formed base-level observation frame",
    clauses=["OE-GEN-004", "OE-WS-011", "OE-WS-018", "OE-WS-019", "OE-WS-020", "OE-V1-032",
             "OE-V1-091", "OE-SEC-005"],
)  # fmt: skip
async def reset_envelope(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    frame = await conn.request(reset_frame(ctx))
    data = expect_type(frame, "observation", "reset")
    if "id" in frame:
        raise Fail("base-level reply carries an 'id'")
    check_observation(data, "reset observation")
    return None


@check(
    "core.reset.no_data",
    title="reset without data is accepted as reset with {}",
    clauses=["OE-WS-009", "OE-GEN-004"],
)
async def reset_no_data(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    expect_type(await conn.request({"type": "reset"}), "observation", "reset without data")
    return None


@check(
    "core.reset.param_validation",
    title="invalid seed / episode_id values are rejected with VALIDATION_ERROR",
    clauses=["OE-WS-011", "OE-WS-013"],
)
async def reset_param_validation(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    accepted = []
    for bad in ({"seed": -1}, {"seed": "seven"}, {"episode_id": ""}, {"episode_id": "x" * 256}):
        frame = await conn.request({"type": "reset", "data": {**ctx.options.reset_data, **bad}})
        if frame.get("type") == "observation":
            accepted.append(dumps(bad))
        elif frame.get("type") == "error":
            code = (frame.get("data") or {}).get("code")
            if code != "VALIDATION_ERROR":
                raise Fail(f"reset {dumps(bad)} answered {code}, expected VALIDATION_ERROR",
                           level=Level.SHOULD)  # fmt: skip
        else:
            raise Fail(f"reset {dumps(bad)} answered with a {frame.get('type')!r} frame")
    if accepted:
        raise Fail(f"invalid reset parameters accepted: {', '.join(accepted)}",
                   level=Level.SHOULD)  # fmt: skip
    return None


@check(
    "core.step.envelope",
    title="step with a valid action is answered by a well-formed observation",
    clauses=["OE-WS-014", "OE-WS-018", "OE-WS-020", "OE-V1-032"],
)
async def step_envelope(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    check_observation(await step_ok(conn, disc(ctx).valid_action()), "step observation")
    return None


@check(
    "core.schema.describes_wire",
    title="actions, observations and state validate against the server's /schema",
    clauses=["OE-HTTP-006"],
)
async def schema_describes_wire(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    doc = found.schema_doc
    if doc is None:
        raise Fail("GET /schema gave no schema document")
    action = found.valid_action()

    def valid(name: str, value: Any, what: str) -> None:
        schema = doc.get(name)
        if not isinstance(schema, dict):
            raise Fail(f"/schema has no {name!r} schema")
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)][:3]
        if errors:
            raise Fail(f"{what} does not validate against /schema {name}: {'; '.join(errors)}")

    valid("action", action, "the action used")
    conn = await ctx.connect()
    reset_data = expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    reset_schema = "reset_observation" if isinstance(doc.get("reset_observation"), dict) else None
    valid(reset_schema or "observation", obs_payload(reset_data), "reset data.observation")
    valid("observation", obs_payload(await step_ok(conn, action)), "step data.observation")
    valid("state", await state_of(conn), "state data")
    return None


@check(
    "core.state.envelope",
    title="state is answered by a state frame with episode_id and step_count 0 after reset",
    clauses=["OE-WS-015"],
)
async def state_envelope(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    data = await state_of(conn)
    eid = field_of({"d": data}, "d", "episode_id")
    count = field_of({"d": data}, "d", "step_count")
    if eid is not None and not isinstance(eid, str):
        raise Fail(f"state episode_id is neither a string nor null: {dumps(eid)}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise Fail(f"state step_count is not a non-negative integer: {dumps(count)}")
    return None


@check(
    "core.state.episode_id_echo",
    title="state echoes the episode_id given to reset",
    clauses=["OE-GEN-005"],
)
async def episode_id_echo(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    wanted = f"conformance-{uuid.UUID(int=ctx.rng.getrandbits(128))}"
    reply = await conn.request(reset_frame(ctx, episode_id=wanted))
    expect_type(reply, "observation", "reset with episode_id")
    for n in range(2):
        got = (await state_of(conn)).get("episode_id")
        if got != wanted:
            raise Fail(f"reset(episode_id={wanted!r}) but state.episode_id is {got!r}")
        if n == 0:
            await step_ok(conn, disc(ctx).valid_action())
    return None


@check(
    "core.state.step_count",
    title="step_count counts the steps since the last reset; reset is accepted at any point",
    clauses=["OE-GEN-006", "OE-GEN-004", "OE-GEN-009"],
)
async def step_count(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    action = disc(ctx).valid_action()
    if (count := (await state_of(conn)).get("step_count")) != 0:
        raise Fail(f"step_count right after reset is {count!r}, expected 0")
    for steps in range(1, 4):
        data = await step_ok(conn, action)
        count = (await state_of(conn)).get("step_count")
        if count != steps:
            raise Fail(f"after {steps} step(s) since reset, step_count is {count!r}")
        if data.get("done") is True:
            break
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset mid-episode")
    count = (await state_of(conn)).get("step_count")
    if count != 0:
        raise Fail(f"step_count after a second reset is {count!r}, expected 0")
    return None


@check(
    "core.state.errors_do_not_count",
    title="rejected frames and MCP tool calls leave step_count and the session unchanged",
    clauses=["OE-GEN-006", "OE-WS-010", "OE-MCP-017"],
)
async def errors_do_not_count(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    await step_ok(conn, disc(ctx).valid_action())
    for raw in ("{oops", '{"type":"nope"}', '{"type":"step"}', '{"type":"step","data":[1]}'):
        await conn.send_text(raw)
        await conn.recv(what=f"the reply to {raw}")
    await conn.send({"type": "mcp", "data": {"jsonrpc": "2.0", "method": "tools/list", "id": 1}})
    await conn.recv(what="the reply to tools/list")
    await ctx.http_call("POST", "/mcp", json_body={"jsonrpc": "2.0", "method": "tools/list", "id": 2})
    count = (await state_of(conn)).get("step_count")
    if count != 1:
        raise Fail(f"after 1 step plus rejected frames / tool calls, step_count is {count!r}")
    return None


@check(
    "core.order.pipelined",
    title="pipelined requests are all answered, in request order, state after earlier requests",
    clauses=["OE-WS-023", "OE-WS-024", "OE-LIM-015", "OE-GEN-009"],
)
async def pipelined(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    action = disc(ctx).valid_action()
    frames = [reset_frame(ctx), {"type": "state"}, step_frame(action), {"type": "state"},
              {"type": "nope"}, {"type": "state"}]  # fmt: skip
    for frame in frames:
        await conn.send(frame)
    expected = ["observation", "state", "observation", "state", "error", "state"]
    replies = [await conn.recv(what=f"reply {n + 1}") for n in range(len(frames))]
    got = [str(r.get("type")) for r in replies]
    if got != expected:
        raise Fail(f"replies arrived as {got}, expected {expected}")
    counts = [replies[i]["data"].get("step_count") for i in (1, 3, 5)]
    if counts != [0, 1, 1]:
        raise Fail(f"pipelined state replies report step_count {counts}, expected [0, 1, 1]")
    extra = await conn.recv_raw(0.2)
    if isinstance(extra, str):
        raise Fail(f"an extra frame arrived after the {len(frames)} replies: {extra[:200]}")
    return None


@check(
    "core.episode.after_done",
    title="stepping after done is handled (base level may pass it to the environment)",
    clauses=["OE-GEN-007"],
    level=Level.MAY,
)
async def after_done(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    action = disc(ctx).valid_action()
    for n in range(1, MAX_EPISODE_STEPS + 1):
        if (await step_ok(conn, action)).get("done") is True:
            frame = await conn.request(step_frame(action))
            return f"done after {n} step(s); a further step got a {frame.get('type')!r} frame"
    raise Unimplemented(f"the episode did not end within {MAX_EPISODE_STEPS} identical steps")


async def error_keeps_open(ctx: CaseContext, raw: str, codes: tuple[str, ...], what: str) -> dict[str, Any]:
    conn = await session(ctx)
    await conn.send_text(raw)
    frame = await conn.recv(what=f"the error for {what}")
    expect_error(frame, codes, what)
    reply = await conn.request({"type": "state"}, what="the state reply after the error")
    expect_type(reply, "state", f"state after {what}")
    return frame


def check_validation_details(frame: dict[str, Any], what: str) -> None:
    """OE-ERR-005: `errors` is a non-empty array of {type, loc, msg}."""
    errors = (frame.get("data") or {}).get("errors")
    if not isinstance(errors, list) or not errors:
        raise Fail(f"{what}: VALIDATION_ERROR without a non-empty 'errors' array")
    for item in errors:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("type"), str)
            and isinstance(item.get("loc"), list)
            and isinstance(item.get("msg"), str)
        ):
            raise Fail(f"{what}: errors item lacks type/loc/msg: {dumps(item)[:200]}")  # fmt: skip


@check(
    "core.error.invalid_json",
    title="malformed JSON → INVALID_JSON, connection stays open",
    clauses=["OE-WS-006", "OE-ERR-002", "OE-GEN-011"],
)
async def invalid_json(ctx: CaseContext) -> str | None:
    await error_keeps_open(ctx, "{not json", ("INVALID_JSON",), "malformed JSON")
    return None


@check(
    "core.error.unknown_type",
    title="unknown, missing, non-string or wrong-case type → UNKNOWN_TYPE, stays open",
    clauses=["OE-WS-008", "OE-ERR-002"],
)
async def unknown_type(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    for raw in ('{"type":"frobnicate"}', '{"data":{}}', '{"type":5}', '{"type":"STATE"}'):
        await conn.send_text(raw)
        expect_error(await conn.recv(what=f"the error for {raw}"), ("UNKNOWN_TYPE",), raw)
    expect_type(await conn.request({"type": "state"}), "state", "state after the errors")
    return None


@check(
    "core.error.closed_envelope",
    title="extra members, missing or non-object data → VALIDATION_ERROR with details, stays open",
    clauses=["OE-WS-009", "OE-ERR-005", "OE-ERR-002", "OE-V1-091"],
)
async def closed_envelope(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    probes = ['{"type":"step"}', '{"type":"state","zz_extra":1}', '{"type":"step","data":5}',
              '{"type":"reset","data":{},"id":1}']  # fmt: skip
    for raw in probes:
        await conn.send_text(raw)
        frame = await conn.recv(what=f"the error for {raw}")
        expect_error(frame, ("VALIDATION_ERROR",), raw)
        check_validation_details(frame, raw)
        if "id" in frame:
            raise Fail(f"base-level error reply to {raw} carries an 'id'")
    expect_type(await conn.request({"type": "state"}), "state", "state after the errors")
    return None


@check(
    "core.error.invalid_action",
    title="an action the schema rejects → VALIDATION_ERROR, stays open",
    clauses=["OE-WS-014", "OE-WS-010", "OE-ERR-005", "OE-ERR-002"],
)
async def invalid_action(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    bad: Any
    if found.is_mcp_env:
        bad = {"type": "call_tool"}  # tool_name missing
    elif found.action_schema is not None and found.action_schema.get("required"):
        bad = {"zz_not_a_field": [1]}
    else:
        bad = {"zz_not_a_field": {"nested": [1]}}
    frame = await error_keeps_open(ctx, dumps(step_frame(bad)), ("VALIDATION_ERROR",), "invalid action")
    check_validation_details(frame, "invalid action")
    return None


@check(
    "core.action.strict_typing",
    title="an integer action member sent as a string is rejected, not converted",
    clauses=["OE-GEN-016"],
)
async def strict_typing(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    action = found.valid_action()
    props = (found.action_schema or {}).get("properties") or {}
    target = next(
        (
            k
            for k, v in action.items()
            if isinstance(v, int)
            and not isinstance(v, bool)
            and isinstance(props.get(k), dict)
            and props[k].get("type") == "integer"
        ),
        None,
    )
    if target is None:
        raise Unimplemented("the action schema has no integer member to mistype")
    conn = await session(ctx)
    frame = await conn.request(step_frame({**action, target: str(action[target])}))
    if frame.get("type") == "observation":
        raise Fail(
            f"{target!r} sent as a string was converted and accepted (lax typing)",
            level=Level.SHOULD,
        )
    expect_error(frame, ("VALIDATION_ERROR",), "mistyped action")
    return None


@check(
    "core.json.overflow",
    title="a number that overflows a double is rejected (INVALID_JSON or VALIDATION_ERROR)",
    clauses=["OE-GEN-013"],
)
async def json_overflow(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    await conn.send_text('{"type":"reset","data":{"seed":1e400}}')
    expect_error(await conn.recv(), ("INVALID_JSON", "VALIDATION_ERROR"), "seed 1e400")
    return None


@check(
    "core.json.duplicate_members",
    title="duplicate member names are rejected, or the last occurrence is used",
    clauses=["OE-GEN-014"],
)
async def duplicate_members(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    await conn.send_text('{"type":"reset","type":"state"}')
    frame = await conn.recv()
    if frame.get("type") == "error" and (frame.get("data") or {}).get("code") == "INVALID_JSON":
        return None
    if frame.get("type") != "state":
        raise Fail(f"{{type: reset, type: state}} answered {frame.get('type')!r}: not the last "
                   "occurrence")  # fmt: skip
    raise Fail(
        "a duplicate member was accepted (last occurrence used), not INVALID_JSON",
        level=Level.SHOULD,
    )


@check(
    "core.close.client_close",
    title="close → no reply; the server closes with 1000 and sends nothing more",
    clauses=["OE-WS-016", "OE-WS-031", "OE-GEN-002"],
)
async def client_close(ctx: CaseContext) -> str | None:
    conn = await session(ctx)
    await conn.send({"type": "close"})
    frame = await conn.recv_raw()
    if frame is None:
        raise Fail("server did not close the connection after a close request")
    if not isinstance(frame, Closed):
        raise Fail(f"server replied to close instead of closing: {str(frame)[:200]}")
    if frame.code != 1000:
        raise Fail(f"close code {frame.code}, expected 1000")
    return None


@check(
    "core.attach.unknown_session",
    title="/ws?session_id=<unknown> → SESSION_ERROR as the last frame, then close",
    clauses=["OE-WS-029", "OE-ERR-014", "OE-ERR-002", "OE-WS-028"],
)
async def attach_unknown(ctx: CaseContext) -> str | None:
    conn = await ctx.connect("/ws?session_id=conformance-no-such-session")
    expect_error(await conn.recv(what="SESSION_ERROR"), ("SESSION_ERROR",), "unknown session_id")
    closed = await conn.wait_closed()
    if closed is None:
        raise Fail("the connection stayed open after SESSION_ERROR")
    return f"closed with {closed.code}"


@check(
    "core.frames.schema",
    title="every server frame seen in this run validates against the wire schemas",
    clauses=["OE-WS-022", "OE-ERR-001", "OE-V1-090", "OE-V1-091", "OE-WS-018", "OE-GEN-011"],
)
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


@check(
    "core.errors.no_internals",
    title="no error message or body seen in this run contains a stack trace",
    clauses=["OE-SEC-003"],
)
async def no_internals(ctx: CaseContext) -> str | None:
    leaks = ctx.run.cache.get("leaks", [])
    if leaks:
        raise Fail(f"{len(leaks)} reply(ies) contain a stack trace; first: {leaks[0][:300]}")
    return None
