"""Episode bookkeeping checks (profiles `core` and `http`): `state` before the first reset and the
`episode_id` of an episode whose reset named none.

Contract: each check opens its own base-level connection (or makes its own HTTP call), sends only
`reset`, `step` and `state`, and fails when a `state` reply breaks OE-GEN-018 / OE-GEN-019.
"""

from __future__ import annotations

from typing import Any

from openenv_conformance.checks._common import disc, not_served, state_of, step_frame
from openenv_conformance.context import CaseContext, dumps, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail


def _fresh_state(data: dict[str, Any], where: str) -> None:
    if data.get("step_count") != 0:
        raise Fail(f"{where}: step_count {dumps(data.get('step_count'))} — expected 0 before any reset")
    if data.get("episode_id") is not None:
        raise Fail(
            f"{where}: episode_id {dumps(data.get('episode_id'))} before any reset (no episode exists yet)",
            level=Level.SHOULD,
        )


@check(
    "core.state.before_reset",
    title="state before the first reset → a state with step_count 0 (not an error), episode_id null",
    clauses=["OE-GEN-018"],
)
async def state_before_reset(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    _fresh_state(await state_of(conn), "state before the first reset")
    return None


@check(
    "http.state.fresh",
    title="GET /state (a fresh instance) → step_count 0, episode_id null",
    clauses=["OE-GEN-018"],
)
async def http_state_fresh(ctx: CaseContext) -> str | None:
    resp = await ctx.http_call("GET", "/state")
    if resp.status_code == 404:
        not_served(ctx, "HTTP /state is not served (production mode)", "http_simulation")
    if resp.status_code != 200:
        raise Fail(f"GET /state → HTTP {resp.status_code}")
    body = resp.json()
    if not isinstance(body, dict):
        raise Fail(f"GET /state body is not an object: {dumps(body)}")
    _fresh_state(body, "GET /state")
    return None


@check(
    "core.state.episode_id_stable",
    title="an episode whose reset named no episode_id keeps one episode_id (a server-generated string)",
    clauses=["OE-GEN-019"],
)
async def episode_id_stable(ctx: CaseContext) -> str | None:
    conn = await ctx.connect()
    data = {k: v for k, v in ctx.options.reset_data.items() if k != "episode_id"}
    expect_type(await conn.request({"type": "reset", "data": data}), "observation", "reset without episode_id")
    first = (await state_of(conn)).get("episode_id")
    expect_type(await conn.request(step_frame(disc(ctx).valid_action())), "observation", "step")
    second = (await state_of(conn)).get("episode_id")
    if second != first:
        raise Fail(f"episode_id changed within one episode: {dumps(first)} then {dumps(second)}")
    if not isinstance(first, str):
        raise Fail(f"episode_id of an episode without a requested id is {dumps(first)}", level=Level.SHOULD)
    return None
