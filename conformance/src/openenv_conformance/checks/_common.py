"""Helpers shared by the check modules: discovery access, session set-up, observer sessions.

Contract: helpers raise `Fail`/`Undecided` with specific messages; they never decide PASS.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, NoReturn

from openenv_conformance.context import (
    V1,
    CaseContext,
    Closed,
    Conn,
    HandshakeRefused,
    expect_type,
    field_of,
)
from openenv_conformance.discovery import Discovery
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

MAX_EPISODE_STEPS = 100
"""Steps the harness takes at most while waiting for `done`."""


def disc(ctx: CaseContext) -> Discovery:
    found = ctx.run.cache.get("discovery")
    if not isinstance(found, Discovery):
        raise Undecided("discovery did not run")
    return found


def reset_frame(ctx: CaseContext, **extra: Any) -> dict[str, Any]:
    return {"type": "reset", "data": {**ctx.options.reset_data, **extra}}


def step_frame(action: dict[str, Any]) -> dict[str, Any]:
    return {"type": "step", "data": action}


async def session(ctx: CaseContext, *, v1: bool = False, label: str | None = None) -> Conn:
    """A connection with one successful reset behind it (v1: hello frame consumed)."""
    conn = await open_conn(ctx, v1=v1, label=label)
    expect_type(await conn.request(reset_frame(ctx)), "observation", "reset")
    return conn


async def open_conn(ctx: CaseContext, *, v1: bool = False, label: str | None = None) -> Conn:
    if v1:
        found = disc(ctx)
        if not found.v1_selected:
            if V1 in found.declared_protocols:  # declared in /metadata: a broken promise
                raise Fail(f"/metadata lists {V1} in protocols, but the upgrade offering it does not select it")
            raise Unimplemented(f"the server does not select the {V1} subprotocol")
        conn = await ctx.connect(subprotocols=[V1], label=label)
        if conn.subprotocol != V1:
            raise Fail(f"{V1} was selected during discovery but not now")
        hello = await conn.recv(what="the session hello frame")
        expect_type(hello, "session", "first v1 frame")
        return conn
    return await ctx.connect(label=label)


async def state_of(conn: Conn) -> dict[str, Any]:
    return expect_type(await conn.request({"type": "state"}), "state", "state")


async def step_ok(conn: Conn, action: dict[str, Any]) -> dict[str, Any]:
    """Send a step; return the observation `data` (Fail on anything else)."""
    return expect_type(await conn.request(step_frame(action)), "observation", "step")


async def observer_ok(ctx: CaseContext, observer: Conn, baseline: dict[str, Any]) -> None:
    """The observer session still answers and its state equals `baseline` (untouched)."""
    if observer.closed is not None:
        raise Fail(f"the observer session was closed (code {observer.closed.code})")
    state = await state_of(observer)
    if state != baseline:
        raise Fail(
            f"observer session's state changed from {baseline} to {state}: another connection's traffic changed it"
        )


async def server_alive(ctx: CaseContext, *, within_s: float = 3.0) -> None:
    """The server still serves new connections: a fresh one is reset, or refused for capacity
    (the case's own sessions may hold every slot). Retries briefly: slot release is async."""
    deadline = time.monotonic() + within_s
    last = ""
    while True:
        result = await ctx.try_connect(label="alive")
        if not isinstance(result, Conn):
            if result.status == 503:
                return
            last = f"upgrade refused with HTTP {result.status}"
        else:
            await result.send(reset_frame(ctx))
            frame = await result.recv_raw()
            await result.close()
            if isinstance(frame, str):
                if '"observation"' in frame or '"CAPACITY_REACHED"' in frame:
                    return
                last = f"reset answered {frame[:200]}"
            else:
                last = f"reset answered by {'silence' if frame is None else 'a close'}"
        if time.monotonic() >= deadline:
            raise Fail(f"server no longer serves new sessions: {last}")
        await asyncio.sleep(0.1)


def obs_payload(data: dict[str, Any]) -> dict[str, Any]:
    obs = field_of({"data": data}, "data", "observation")
    if not isinstance(obs, dict):
        raise Fail("observation data.observation is not an object")
    return obs


async def metadata_limits(ctx: CaseContext) -> dict[str, Any] | None:
    cached = ctx.run.cache.get("limits", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    limits: dict[str, Any] | None = None
    resp = await ctx.http_call("GET", "/metadata")
    if resp.status_code == 200:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("limits"), dict):
            limits = body["limits"]
    ctx.run.cache["limits"] = limits
    return limits


async def fill_to_capacity(
    ctx: CaseContext, *, v1: bool, limit: int, declared: int | None = None
) -> tuple[list[Conn], HandshakeRefused | Conn, str | None]:
    """Open sessions until one is refused, before the upgrade (`HandshakeRefused`) or after it
    (the refused `Conn` and its first frame, or None when it was closed without one). At most
    `limit` connections. When none is refused: FAIL if the server declared `max_sessions`
    (`declared`) and accepted more (a promise broken, OE-LIM-011), else `Unimplemented`. A session
    counts as held once it answered a `state` request (v1: once it sent its hello); anything else
    first is a refusal."""
    held: list[Conn] = []
    for n in range(limit):
        result = await ctx.try_connect(subprotocols=[V1] if v1 else None, label=f"c{n + 1}")
        if isinstance(result, HandshakeRefused):
            return held, result, None
        if not v1:
            await result.send({"type": "state"})
        first = await result.recv_raw()
        if first is None:
            raise Fail(f"{result.label}: neither a reply nor a refusal within the timeout")
        if isinstance(first, Closed) or not isinstance(first, str):
            return held, result, None
        try:
            kind = json.loads(first).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind != ("session" if v1 else "state"):
            return held, result, first
        held.append(result)
    if declared is not None and len(held) > declared:
        raise Fail(
            f"/metadata declares max_sessions {declared}, yet {len(held)} concurrent sessions were accepted",
            clauses=("OE-LIM-011",),
        )
    raise Unimplemented(f"no capacity limit reached with {limit} sessions")


def not_served(ctx: CaseContext, what: str, capability: str) -> NoReturn:
    """`what` is missing: UNIMPLEMENTED, or FAIL when `/metadata` `capabilities.<capability>` promised
    it (a promise broken is a failure, not an optional feature left out)."""
    if disc(ctx).declared_capabilities.get(capability) is True:
        raise Fail(f"{what}, although /metadata declares capabilities.{capability}: true")
    raise Unimplemented(what)
