"""Profile `determinism`: the same seed and the same actions give the same observations.

Contract: a difference is NON-STRICT, not FAIL: the spec requires the seed to reach the
environment (OE-WS-011) but cannot require an environment to be deterministic.
Two sessions reset with the same `seed` (plus `--reset-data`) and take the same K random
valid actions (generated from `/schema`, or from MCP tool schemas); observations, rewards and
`done` must be identical step by step; two runs whose every step was an error are ERROR (no
vacuous pass: nothing was compared). Fields that name the episode (`episode_id`) and the
metadata (`observation.metadata`, equal to the top-level `data.metadata` by OE-WS-019: sandbox
paths, timings, isolation reports) are not compared, nor are the observation members the
`/schema` `observation` marks `"x-openenv-nondeterministic": true` (OE-HTTP-027: timings, host
paths). A server that declares `capabilities.deterministic: false` (OE-HTTP-028: it cannot be
seeded) is not judged (UNIMPLEMENTED). A second check notes (INFORMATIONAL) whether another seed
changes the first observation.
"""

from __future__ import annotations

import random
from typing import Any

from openenv_conformance.checks._common import disc, reset_frame, step_frame
from openenv_conformance.context import CaseContext, dumps, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

STEPS = 5


VOLATILE = "x-openenv-nondeterministic"
"""The property-schema annotation of an observation member that is not a function of the seed and
the actions (OE-HTTP-027)."""


def volatile_members(schema_doc: dict[str, Any] | None) -> frozenset[str]:
    """The observation members `/schema` marks as volatile (top-level properties, `$ref`s followed
    one level into `$defs`)."""
    observation = (schema_doc or {}).get("observation")
    if not isinstance(observation, dict):
        return frozenset()
    if isinstance(observation.get("$ref"), str):
        name = observation["$ref"].rsplit("/", 1)[-1]
        observation = (observation.get("$defs") or {}).get(name, observation)
    properties = observation.get("properties")
    if not isinstance(properties, dict):
        return frozenset()
    return frozenset(k for k, v in properties.items() if isinstance(v, dict) and v.get(VOLATILE) is True)


def _comparable(data: dict[str, Any], volatile: frozenset[str] = frozenset()) -> str:
    obs = data.get("observation")
    if isinstance(obs, dict):  # a copy without what names the run rather than the state
        obs = {k: v for k, v in obs.items() if k not in ("episode_id", "metadata") and k not in volatile}
    return dumps({"observation": obs, "reward": data.get("reward"), "done": data.get("done")})


async def _trajectory(ctx: CaseContext, seed: int, actions: list[dict[str, Any]]) -> list[str]:
    volatile = volatile_members(disc(ctx).schema_doc)
    conn = await ctx.connect()
    out = []
    data = expect_type(await conn.request(reset_frame(ctx, seed=seed)), "observation", "reset")
    out.append(_comparable(data, volatile))
    for action in actions:
        frame = await conn.request(step_frame(action))
        if frame.get("type") == "error":
            out.append(dumps({"error": (frame.get("data") or {}).get("code")}))
            continue
        data = expect_type(frame, "observation", "step")
        out.append(_comparable(data, volatile))
        if data.get("done") is True:
            break
    await conn.close()
    return out


@check(
    "determinism.same_seed",
    title="same seed + same actions → same observations (seed reaches the environment)",
    clauses=["OE-WS-011", "OE-HTTP-027", "OE-HTTP-028"],
)
async def same_seed(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    if found.declared_capabilities.get("deterministic") is False:
        raise Unimplemented("the server declares capabilities.deterministic: false (OE-HTTP-028)")
    rng = random.Random(ctx.options.seed)
    actions = [found.random_action(rng) for _ in range(STEPS)]
    seed = ctx.options.seed % (2**31)
    first = await _trajectory(ctx, seed, actions)
    second = await _trajectory(ctx, seed, actions)
    steps = first[1:] + second[1:]
    if steps and all(item.startswith('{"error"') for item in steps):  # identical errors prove nothing
        raise Undecided(
            f"prerequisite failed: every step was answered with an error ({steps[0][:120]}), so no valid "
            "action could be derived from /schema (or --action); determinism was not judged"
        )
    for n, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            what = "reset" if n == 0 else f"step {n}"
            raise Fail(
                f"{what} differs between two runs with seed {seed}: {a[:200]} vs {b[:200]}",
                level=Level.SHOULD,
            )
    if len(first) != len(second):
        raise Fail(f"the runs ended after {len(first)} and {len(second)} frames", level=Level.SHOULD)
    return f"{len(first)} identical observations"


@check(
    "determinism.other_seed",
    title="another seed is accepted (whether it changes observations is noted)",
    clauses=["OE-WS-011"],
    informational=True,
)
async def other_seed(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    actions = [found.random_action(random.Random(1)) for _ in range(2)]
    a = await _trajectory(ctx, 1, actions)
    b = await _trajectory(ctx, 2, actions)
    return "seeds 1 and 2 gave " + ("identical" if a == b else "different") + " observations"
