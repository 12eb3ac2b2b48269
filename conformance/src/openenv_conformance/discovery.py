"""Learn what the harness needs about an unknown environment before the cases run.

Contract: `discover(ctx)` fetches `/schema` (action schema), asks MCP environments (action schema
accepting `type: "call_tool"`) for their tools, and checks whether `openenv.v1` is selected. The
result (`Discovery`) gives each case a known-valid action (`--action` wins), and random valid
actions for fuzzing and determinism. Nothing here decides an outcome; a missing piece is recorded
in `problems` and the cases that need it end as ERROR.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from openenv_conformance.actions import valid_instance
from openenv_conformance.context import V1, CaseContext, Closed, HandshakeRefused
from openenv_conformance.verdicts import Fail, Undecided

MAX_TOOLS = 64


@dataclass(slots=True)
class Tool:
    name: str
    input_schema: dict[str, Any]


@dataclass(slots=True)
class Discovery:
    schema_doc: dict[str, Any] | None = None
    action_schema: dict[str, Any] | None = None
    is_mcp_env: bool = False
    tools: list[Tool] = field(default_factory=list)
    override: dict[str, Any] | None = None
    v1_selected: bool = False
    declared_protocols: tuple[str, ...] = ()
    """`protocols` from `/metadata`: subprotocols the server says it speaks (OE-V1-006)."""
    declared_capabilities: dict[str, Any] = field(default_factory=dict)
    """`capabilities` from `/metadata` (`mcp`, `http_simulation`, `tasks`): features it promises."""
    declared_taskset: dict[str, Any] | None = None
    """`taskset` from `/metadata`: the splits and task counts it says its taskset has (OE-TASK-008)."""
    declared_trajectory: dict[str, Any] | None = None
    """`trajectory` from `/metadata`: the bound of the record it says it keeps (OE-RWD-009)."""
    env_name: str | None = None
    """`name` from `/metadata` (selects `when_name` expected-failure entries)."""
    problems: list[str] = field(default_factory=list)

    def action_validator(self) -> Draft202012Validator | None:
        if self.action_schema is None:
            return None
        return Draft202012Validator(self.action_schema)

    def action_is_valid(self, action: Any) -> bool:
        v = self.action_validator()
        return True if v is None else v.is_valid(action)

    def valid_action(self) -> dict[str, Any]:
        """A deterministic, known-valid action (minimal)."""
        if self.override is not None:
            return self.override
        return self.random_action(random.Random(0), minimal=True)

    def random_action(self, rng: random.Random, *, minimal: bool = False) -> dict[str, Any]:
        if self.override is not None:
            return self.override
        if self.is_mcp_env:
            if not self.tools:
                raise Undecided("MCP environment lists no tools; pass --action")
            tool = self.tools[0] if minimal else rng.choice(self.tools)
            args = valid_instance(tool.input_schema, rng, minimal=minimal)
            return {"type": "call_tool", "tool_name": tool.name, "arguments": args}
        if self.action_schema is None:
            raise Undecided("no action schema from GET /schema; pass --action")
        validator = self.action_validator()
        assert validator is not None
        for _ in range(20):
            action = valid_instance(self.action_schema, rng, minimal=minimal)
            if isinstance(action, dict) and validator.is_valid(action):
                return action
            minimal = True
        raise Undecided("cannot generate an action valid for the /schema action schema")


def accepts_call_tool(schema: dict[str, Any]) -> bool:
    """True when the action schema is the MCP `call_tool` action (or a union containing it)."""
    try:
        return bool(Draft202012Validator(schema).is_valid({"type": "call_tool", "tool_name": "x", "arguments": {}}))
    except Exception:
        return False


async def _tools_over_ws(ctx: CaseContext, reset_data: dict[str, Any]) -> list[Tool]:
    conn = await ctx.connect(label="discover")
    try:
        await conn.request({"type": "reset", "data": reset_data})
        reply = await conn.request({"type": "step", "data": {"type": "list_tools"}})
    finally:
        await conn.close()
    obs = (reply.get("data") or {}).get("observation") or {}
    raw = obs.get("tools") if isinstance(obs, dict) else None
    if not isinstance(raw, list):
        return []
    tools = []
    for item in raw[:MAX_TOOLS]:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            schema = item.get("input_schema") or item.get("inputSchema") or {"type": "object"}
            tools.append(Tool(item["name"], schema if isinstance(schema, dict) else {}))
    return tools


async def discover(ctx: CaseContext) -> Discovery:
    found = Discovery(override=ctx.options.action)
    try:
        resp = await ctx.http_call("GET", "/schema")
        doc = resp.json() if resp.status_code == 200 else None
        if isinstance(doc, dict):
            found.schema_doc = doc
            if isinstance(doc.get("action"), dict):
                found.action_schema = doc["action"]
        else:
            found.problems.append(f"GET /schema → HTTP {resp.status_code}")
    except (Fail, ValueError) as exc:
        found.problems.append(f"GET /schema failed: {exc}")
    try:
        meta = await ctx.http_call("GET", "/metadata")
        body = meta.json() if meta.status_code == 200 else {}
        name = body.get("name")
        found.env_name = name if isinstance(name, str) else None
        capabilities = body.get("capabilities")
        if isinstance(capabilities, dict):
            found.declared_capabilities = dict(capabilities)
        for key in ("taskset", "trajectory"):
            if isinstance(body.get(key), dict):
                setattr(found, f"declared_{key}", dict(body[key]))
        protocols = body.get("protocols")
        if isinstance(protocols, list):
            found.declared_protocols = tuple(p for p in protocols if isinstance(p, str))
    except (Fail, ValueError, AttributeError):
        found.problems.append("GET /metadata gave no name")
    if found.action_schema is not None:
        found.is_mcp_env = accepts_call_tool(found.action_schema)
    if found.is_mcp_env and found.override is None:
        try:
            found.tools = await _tools_over_ws(ctx, ctx.options.reset_data)
        except Fail as exc:
            found.problems.append(f"list_tools over /ws failed: {exc.message}")
    try:
        result = await ctx.try_connect(subprotocols=[V1], label="negotiate")
        if isinstance(result, HandshakeRefused):
            found.problems.append(f"upgrade offering {V1} refused: HTTP {result.status}")
        else:
            found.v1_selected = result.subprotocol == V1
            if found.v1_selected:
                await result.recv_raw()  # the hello frame, recorded
            await result.close()
    except Fail as exc:
        found.problems.append(exc.message)
    return found


def closed_code(c: Closed | None) -> str:
    return "open" if c is None else f"closed (code {c.code})"
