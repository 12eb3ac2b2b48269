"""Per-session file isolation (optional): a marker written in one session is invisible to another.

Contract: the check runs only where the environment declares per-session files with the
`x-openenv-session-files` annotation of its action schema (`GET /schema` → `action`), an object
``{"write": ACTION, "read": ACTION}`` (OE-SEC-009): ``write`` is an action in which every string
``{marker}`` is replaced by a random marker that the action stores in the session's files;
``read`` is an action whose observation contains every marker the session can reach, its own
and (if isolation failed) other sessions'. Without the annotation the check is UNIMPLEMENTED.

Steps, on two concurrent base-level sessions A and B: A writes marker a and must read it back
(a recipe that cannot find its own marker is unusable: NON-STRICT against OE-SEC-009); B reads
and must not see a (FAIL, OE-SEC-008: cross-session read); B writes marker b through the same
recipe (same file names) and A reads again: a must still be there and b must not (FAIL:
cross-session write). Observations are searched as their JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from openenv_conformance.checks._common import disc, obs_payload, reset_frame, step_frame
from openenv_conformance.context import CaseContext, Conn, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Unimplemented

ANNOTATION = "x-openenv-session-files"
PLACEHOLDER = "{marker}"
MAX_RECIPE_CHARS = 100_000


def recipe(action_schema: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (write, read) actions the schema declares, or None; Fail (SHOULD) when malformed."""
    if not isinstance(action_schema, dict) or ANNOTATION not in action_schema:
        return None
    declared = action_schema[ANNOTATION]
    if (
        not isinstance(declared, dict)
        or not isinstance(declared.get("write"), dict)
        or not isinstance(declared.get("read"), dict)
        or len(json.dumps(declared)) > MAX_RECIPE_CHARS
    ):
        raise Fail(
            f"{ANNOTATION} must be an object with object members write and read "
            f"(at most {MAX_RECIPE_CHARS} characters)",
            clauses=["OE-SEC-009"],
            level=Level.SHOULD,
        )
    if PLACEHOLDER not in json.dumps(declared["write"]):
        raise Fail(f"{ANNOTATION}.write never mentions {PLACEHOLDER}", clauses=["OE-SEC-009"], level=Level.SHOULD)
    return declared["write"], declared["read"]


def with_marker(value: Any, marker: str) -> Any:
    """``value`` with ``{marker}`` replaced in every string it contains."""
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, marker)
    if isinstance(value, list):
        return [with_marker(v, marker) for v in value]
    if isinstance(value, dict):
        return {k: with_marker(v, marker) for k, v in value.items()}
    return value


async def _step(conn: Conn, action: dict[str, Any], what: str) -> str:
    data = expect_type(await conn.request(step_frame(action)), "observation", what)
    return json.dumps(obs_payload(data))


@check(
    "isolation.session_files",
    title="a file written in one session is neither readable nor overwritable from another",
    clauses=["OE-SEC-008", "OE-SEC-009"],
)
async def session_files(ctx: CaseContext) -> str | None:
    found = recipe(disc(ctx).action_schema)
    if found is None:
        raise Unimplemented(f"the action schema declares no per-session files ({ANNOTATION})")
    write, read = found
    a = await ctx.connect(label="a")
    b = await ctx.connect(label="b")
    for conn in (a, b):
        expect_type(await conn.request(reset_frame(ctx)), "observation", f"reset of session {conn.label}")
    mark_a = f"oe-marker-{ctx.rng.getrandbits(64):016x}"
    mark_b = f"oe-marker-{ctx.rng.getrandbits(64):016x}"
    await _step(a, with_marker(write, mark_a), "A's write")
    if mark_a not in await _step(a, read, "A's read"):
        raise Fail("session A cannot read back its own marker: the declared recipe is unusable",
                   clauses=["OE-SEC-009"], level=Level.SHOULD)  # fmt: skip
    if mark_a in await _step(b, read, "B's read"):
        raise Fail("session B read the marker session A wrote", clauses=["OE-SEC-008"])
    await _step(b, with_marker(write, mark_b), "B's write")
    seen = await _step(a, read, "A's second read")
    if mark_b in seen:
        raise Fail("session B's write reached session A's files", clauses=["OE-SEC-008"])
    if mark_a not in seen:
        raise Fail("session A's marker vanished after session B wrote its own", clauses=["OE-SEC-008"])
    return "markers stayed in their sessions"
