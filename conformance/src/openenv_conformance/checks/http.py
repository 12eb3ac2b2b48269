"""Profile `http`: the HTTP surface — /health, /metadata, /schema, /reset, /step, 422 shapes,
`POST /mcp` JSON-RPC errors and notifications, plus a schemathesis pass over the OpenAPI document.

Contract: bodies are validated against the HTTP schemas in `schemas/`. HTTP `/reset`/`/step` are
optional (production mode removes them): a 404 there is UNIMPLEMENTED. The schemathesis pass runs
the schemathesis CLI in a subprocess against the server's `/openapi.json` (or the repository's
`openapi.yaml` when the server serves none), bounded in examples and time, and fails on the
findings of its checks.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from openenv_conformance.checks._common import disc, not_served
from openenv_conformance.context import CaseContext
from openenv_conformance.model import Level
from openenv_conformance.paths import openapi_path
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

SCHEMATHESIS_CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SCHEMATHESIS_MAX_S = 60


def _json(resp: Any, what: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise Fail(f"{what}: body is not JSON: {resp.text[:200]!r}") from None


def _valid(ctx: CaseContext, schema: str, body: Any, what: str) -> None:
    if not ctx.run.schemas.has(schema):
        raise Undecided(f"schema {schema} is missing from {ctx.run.schemas.directory}")
    errors = ctx.run.schemas.errors(schema, body)
    if errors:
        raise Fail(f"{what} does not match {schema}: {'; '.join(errors)}")


@check(
    "http.health",
    title="GET /health → 200 {status: healthy}, with load figures",
    clauses=["OE-HTTP-001", "OE-HTTP-002"],
)
async def health(ctx: CaseContext) -> str | None:
    body = await ctx.get_json("/health")
    _valid(ctx, "HealthResponse", body, "/health body")
    if body.get("status") != "healthy":
        raise Fail(f"/health status is {body.get('status')!r}, expected 'healthy'")
    if not all(isinstance(body.get(k), int) for k in ("active_sessions", "max_sessions")):
        raise Fail("/health does not report active_sessions/max_sessions", level=Level.SHOULD)
    return None


@check(
    "http.metadata",
    title="GET /metadata → 200 with the metadata document",
    clauses=["OE-HTTP-003"],
)
async def metadata(ctx: CaseContext) -> str | None:
    _valid(ctx, "MetadataResponse", await ctx.get_json("/metadata"), "/metadata body")
    return None


@check(
    "http.schema",
    title="GET /schema → 200 with action/observation/state JSON Schemas",
    clauses=["OE-HTTP-005"],
)
async def schema(ctx: CaseContext) -> str | None:
    body = await ctx.get_json("/schema")
    _valid(ctx, "SchemaResponse", body, "/schema body")
    for key in ("action", "observation", "state"):
        if not isinstance(body.get(key), dict):
            raise Fail(f"/schema has no object {key!r}")
    return None


@check(
    "http.reset",
    title="POST /reset accepts an empty body and seed/episode_id; 200 result body",
    clauses=["OE-HTTP-013", "OE-HTTP-015", "OE-HTTP-016"],
)
async def http_reset(ctx: CaseContext) -> str | None:
    bodies: list[Any] = [None, {**ctx.options.reset_data, "seed": 3, "episode_id": "http-ep"}]
    for body in bodies:
        if body is None:
            resp = await ctx.http_call("POST", "/reset")
        else:
            resp = await ctx.http_call("POST", "/reset", json_body=body)
        if resp.status_code == 404:
            not_served(ctx, "HTTP /reset is not served (production mode)", "http_simulation")
        if resp.status_code != 200:
            raise Fail(f"POST /reset {'(empty body)' if body is None else ''} → HTTP "
                       f"{resp.status_code}")  # fmt: skip
        _valid(ctx, "HttpResetResponse", _json(resp, "/reset"), "/reset body")
    return None


@check(
    "http.step",
    title="POST /step {action, timeout_s, request_id} → 200 result body",
    clauses=["OE-HTTP-014", "OE-HTTP-015", "OE-HTTP-016"],
)
async def http_step(ctx: CaseContext) -> str | None:
    body = {"action": disc(ctx).valid_action(), "timeout_s": 5.0, "request_id": "conformance-1"}
    resp = await ctx.http_call("POST", "/step", json_body=body)
    if resp.status_code == 404:
        not_served(ctx, "HTTP /step is not served (production mode)", "http_simulation")
    if resp.status_code == 500:  # what OE-HTTP-021 requires when the environment raises: not a FAIL
        raise Undecided(
            "prerequisite failed: the environment raised on the derived action (HTTP 500, as OE-HTTP-021 "
            "requires), so the result body could not be judged; pass a working --action"
        )
    if resp.status_code != 200:
        raise Fail(f"POST /step → HTTP {resp.status_code}")
    _valid(ctx, "HttpStepResponse", _json(resp, "/step"), "/step body")
    return None


@check(
    "http.validation_422",
    title="non-JSON, non-object and invalid /reset and /step bodies → 422 {detail: [...]}",
    clauses=["OE-HTTP-020", "OE-HTTP-022"],
)
async def validation_422(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    bad_action: Any = {"type": "call_tool"} if found.is_mcp_env else {"zz_not_a_field": [1]}
    cases: list[tuple[str, str]] = [
        ("/reset", '{"seed": -1}'),
        ("/reset", "[1, 2]"),
        ("/step", "{not json"),
        ("/step", '{"no_action": 1}'),
        ("/step", json.dumps({"action": bad_action})),
    ]
    served = 0
    for path, raw in cases:
        resp = await ctx.http_call("POST", path, content=raw, headers={"content-type": "application/json"})
        if resp.status_code == 404:
            continue
        served += 1
        if resp.status_code != 422:
            raise Fail(f"POST {path} {raw} → HTTP {resp.status_code}, expected 422")
        body = _json(resp, path)
        _valid(ctx, "HttpValidationError", body, f"{path} 422 body")
    if not served:
        not_served(ctx, "HTTP /reset and /step are not served", "http_simulation")
    if "action" in raw:
        locs = [d.get("loc") for d in body.get("detail", []) if isinstance(d, dict)]
        if not any(isinstance(loc, list) and loc[:2] == ["body", "action"] for loc in locs):
            raise Fail(f"invalid action 422: no loc starting ['body', 'action'] (got {locs})",
                       level=Level.SHOULD)  # fmt: skip
    return None


async def _rpc(ctx: CaseContext, raw: str) -> tuple[int, Any]:
    resp = await ctx.http_call("POST", "/mcp", content=raw, headers={"content-type": "application/json"})
    if not resp.content:
        return resp.status_code, None
    return resp.status_code, _json(resp, "/mcp")


@check(
    "http.mcp.errors",
    title="POST /mcp answers bad JSON-RPC with the standard codes, HTTP 200, JSON",
    clauses=["OE-MCP-001", "OE-MCP-002", "OE-MCP-003", "OE-MCP-005", "OE-MCP-006", "OE-MCP-008"],
)
async def mcp_errors(ctx: CaseContext) -> str | None:
    probes = [
        ("{bad", -32700, None),
        ('{"jsonrpc":"2.0","id":3}', -32600, None),
        ('{"jsonrpc":"1.0","method":"tools/list","id":5}', -32600, None),
        ('{"jsonrpc":"2.0","method":"tools/list","params":[1],"id":6}', -32600, None),
        ('{"jsonrpc":"2.0","method":"zz/no-such-method","id":4}', -32601, 4),
        ('{"jsonrpc":"2.0","method":"zz/no-such-method","id":"four"}', -32601, "four"),
    ]
    for raw, code, rid in probes:
        status, body = await _rpc(ctx, raw)
        if status == 404:
            not_served(ctx, "POST /mcp is not served", "mcp")
        if status != 200:
            raise Fail(f"{raw!r} → HTTP {status}, expected 200")
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            raise Fail(f"{raw!r} → HTTP {status} {str(body)[:200]}: no JSON-RPC error object")
        _valid(ctx, "JsonRpcErrorResponse", body, f"/mcp reply to {raw!r}")
        if body["error"].get("code") != code:
            raise Fail(f"{raw!r} → error code {body['error'].get('code')}, expected {code}")
        if body.get("id") != rid and rid is not None:
            raise Fail(f"{raw!r} → id {body.get('id')!r}, expected {rid!r}")
        if rid is None and code == -32700 and body.get("id") is not None:
            raise Fail(f"parse error reply carries id {body.get('id')!r}, expected null")
    return None


@check(
    "http.mcp.notification",
    title="a JSON-RPC notification on POST /mcp gets 202 and no body",
    clauses=["OE-MCP-004", "OE-MCP-008"],
)
async def mcp_notification(ctx: CaseContext) -> str | None:
    status, body = await _rpc(ctx, '{"jsonrpc":"2.0","method":"notifications/initialized"}')
    if status == 404:
        not_served(ctx, "POST /mcp is not served", "mcp")
    if body is not None:
        raise Fail(f"notification answered with HTTP {status} and a body: {str(body)[:200]}")
    if status != 202:
        raise Fail(f"notification answered with HTTP {status}, expected 202 and no body")
    return None


def _location(ctx: CaseContext, served: bool) -> list[str]:
    if served:  # --url pins the base URL: a `servers` entry cannot redirect the run elsewhere
        return [ctx.target.http_url("/openapi.json"), "--url", ctx.target.base_url]
    try:
        local = openapi_path()
    except FileNotFoundError as exc:
        raise Undecided(f"no /openapi.json served and {exc}") from None
    return [str(local), "--url", ctx.target.base_url]


def _summarise(report_path: Path) -> list[str]:
    """`<operation> <check> (<code> <title>, <first line of message>)` per distinct failure,
    from the `ScenarioFinished` events of the schemathesis NDJSON report."""
    found: set[str] = set()
    if not report_path.exists():
        return []
    for line in report_path.read_text("utf-8", "replace").splitlines():
        try:
            event = json.loads(line).get("ScenarioFinished")
        except (ValueError, AttributeError):
            continue
        if not isinstance(event, dict) or event.get("status") != "failure":
            continue
        recorder = event.get("recorder") or {}
        for results in (recorder.get("checks") or {}).values():
            for result in results:
                if result.get("status") != "failure":
                    continue
                failure = (result.get("failure_info") or {}).get("failure") or {}
                detail = str(failure.get("message", "")).splitlines()[:1]
                found.add(
                    f"{recorder.get('label')} {result.get('name')} ({failure.get('code', '')} "
                    f"{failure.get('title', '')}{': ' + detail[0] if detail else ''})"
                )
    return sorted(found)


def _failure_lines(text: str) -> list[str]:
    """The lines of the CLI's `Failures:` block (`❌ ST103 Undocumented status code: 7`)."""
    lines = text.splitlines()
    if "Failures:" not in [ln.strip() for ln in lines]:
        return []
    start = [ln.strip() for ln in lines].index("Failures:") + 1
    out = []
    for ln in lines[start:]:
        if not ln.strip():
            break
        out.append(ln.strip().lstrip("❌ ").strip())
    return out


OUT_OF_SCOPE = r"^/web(/.*)?$"
"""0.10's web interface: not part of the protocol (spec/ambiguities.md), never probed."""
TASK_API = r"^/[^/]+/(splits|tasks|num_tasks|task|task_range)$"
"""0.10's Task API routes: in scope (spec/tasks.md) only for a server that declares tasks."""


def out_of_scope_paths(capabilities: dict[str, Any]) -> str:
    """The `--exclude-path-regex` of the schemathesis pass: the web interface always, the Task API
    unless `/metadata` declares `capabilities.tasks`."""
    return OUT_OF_SCOPE if capabilities.get("tasks") is True else f"{OUT_OF_SCOPE}|{TASK_API}"


@check(
    "http.openapi.schemathesis",
    title="schemathesis (examples, coverage, fuzzing, stateful links) finds no failures",
    clauses=["OE-HTTP-007", "OE-HTTP-020", "OE-HTTP-025"],
    timeout_s=SCHEMATHESIS_MAX_S + 15,
)
async def schemathesis_pass(ctx: CaseContext) -> str | None:
    n = ctx.options.schemathesis_examples
    if n <= 0:
        raise Undecided("schemathesis pass disabled (schemathesis_examples=0)")
    probe = await ctx.http_call("GET", "/openapi.json")
    served = probe.status_code == 200
    with tempfile.TemporaryDirectory(prefix="oe-st-") as tmp:
        ndjson = Path(tmp) / "events.ndjson"
        argv = [
            sys.executable, "-m", "schemathesis.cli", "run", *_location(ctx, served),
            "--checks", SCHEMATHESIS_CHECKS, "--max-examples", str(n),
            "--phases", ctx.options.schemathesis_phases,
            "--seed", str(ctx.options.seed), "--workers", "1", "--no-color",
            "--request-timeout", str(ctx.timeout_s),
            "--generation-deterministic", "--suppress-health-check", "all",
            "--report", "ndjson", "--report-ndjson-path", str(ndjson),
        ]  # fmt: skip
        if ctx.options.schemathesis_paths:
            argv += ["--include-path-regex", ctx.options.schemathesis_paths]
        argv += ["--exclude-path-regex", out_of_scope_paths(disc(ctx).declared_capabilities)]
        ctx.note("schemathesis", "note", " ".join(argv[2:]))
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), SCHEMATHESIS_MAX_S + 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise Undecided("schemathesis did not finish in time") from None
        text = out.decode("utf-8", "replace")
        tail = "\n".join(text.splitlines()[-40:])
        ctx.note("schemathesis", "recv", tail)
        failures = _summarise(ndjson)
    if proc.returncode == 0:
        return f"schemathesis found no failures ({'served' if served else 'local'} OpenAPI)"
    if proc.returncode != 1:
        raise Undecided(f"schemathesis could not run (exit {proc.returncode}): {tail[-300:]}")
    if not failures:
        failures = _failure_lines(text)
    shown = "; ".join(failures[:8]) or tail[-400:]
    raise Fail(f"schemathesis exit {proc.returncode}: {shown}")


@check(
    "http.openapi",
    title="GET /openapi.json lists the HTTP paths with info.version 1.x",
    clauses=["OE-HTTP-007"],
)
async def openapi(ctx: CaseContext) -> str | None:
    resp = await ctx.http_call("GET", "/openapi.json")
    if resp.status_code != 200:
        raise Fail(f"GET /openapi.json → HTTP {resp.status_code}")
    doc = _json(resp, "/openapi.json")
    version = (doc.get("info") or {}).get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("1."):
        raise Fail(f"info.version is {version!r}, expected 1.x")
    if "/health" not in (doc.get("paths") or {}):
        raise Fail("the OpenAPI document does not list /health")
    return None


async def _served(ctx: CaseContext) -> dict[str, int]:
    out = {}
    for method, path, body in (
        ("POST", "/reset", {}),
        ("POST", "/step", {}),
        ("GET", "/state", None),
    ):
        resp = await ctx.http_call(method, path, json_body=body)
        out[path] = resp.status_code
    return out


@check(
    "http.all_or_none",
    title="/reset, /step and /state are all served or all 404",
    clauses=["OE-HTTP-012", "OE-WS-001"],
)
async def all_or_none(ctx: CaseContext) -> str | None:
    served = await _served(ctx)
    missing = [p for p, status in served.items() if status == 404]
    if missing and len(missing) != len(served):
        raise Fail(f"only some simulation endpoints are served: 404 for {missing}, {served}")
    return "production mode (none served)" if missing else "simulation mode (all served)"


@check(
    "http.state",
    title="GET /state → 200 with a state object (when served)",
    clauses=["OE-HTTP-017", "OE-WS-015"],
)
async def http_state(ctx: CaseContext) -> str | None:
    resp = await ctx.http_call("GET", "/state")
    if resp.status_code == 404:
        not_served(ctx, "HTTP /state is not served (production mode)", "http_simulation")
    if resp.status_code != 200:
        raise Fail(f"GET /state → HTTP {resp.status_code}")
    body = _json(resp, "/state")
    _valid(ctx, "State", body, "/state body")
    return None


@check(
    "http.stateless",
    title="HTTP /reset, /step and /state do not share an episode",
    clauses=["OE-HTTP-010"],
)
async def stateless(ctx: CaseContext) -> str | None:
    mark = f"http-stateless-{ctx.rng.getrandbits(32):08x}"
    before = await ctx.http_call("GET", "/state")  # a fresh episode may have acted already
    baseline = _json(before, "/state") if before.status_code == 200 else None
    resp = await ctx.http_call("POST", "/reset", json_body={**ctx.options.reset_data, "episode_id": mark})
    if resp.status_code == 404:
        not_served(ctx, "HTTP simulation endpoints are not served", "http_simulation")
    await ctx.http_call("POST", "/step", json_body={"action": disc(ctx).valid_action()})
    state = await ctx.http_call("GET", "/state")
    if state.status_code != 200:
        raise Fail(f"GET /state → HTTP {state.status_code}")
    body = _json(state, "/state")
    fresh = baseline.get("step_count") if isinstance(baseline, dict) else 0
    if isinstance(body, dict) and (body.get("episode_id") == mark or (body.get("step_count") or 0) > (fresh or 0)):
        raise Fail(f"GET /state sees an earlier request's episode: {json.dumps(body)[:200]}")
    return None


@check(
    "http.unknown_paths",
    title="unknown path → 404, wrong method → 405, each with a JSON {detail}",
    clauses=["OE-HTTP-025"],
)
async def unknown_paths(ctx: CaseContext) -> str | None:
    for method, path, status in (
        ("GET", "/zz-no-such-path", 404),
        ("DELETE", "/health", 405),
        ("PUT", "/schema", 405),
    ):
        resp = await ctx.http_call(method, path)
        if resp.status_code != status:
            raise Fail(f"{method} {path} → HTTP {resp.status_code}, expected {status}")
        body = _json(resp, f"{method} {path}")
        if not isinstance(body, dict) or "detail" not in body:
            raise Fail(f"{method} {path}: body has no 'detail'")
    return None


@check(
    "http.body_size",
    title="a request body over max_message_bytes → 413",
    clauses=["OE-HTTP-026", "OE-LIM-002"],
)
async def body_size(ctx: CaseContext) -> str | None:
    from openenv_conformance.checks._common import metadata_limits

    limits = await metadata_limits(ctx)
    size = limits.get("max_message_bytes") if limits else None
    if not isinstance(size, int):
        raise Unimplemented("the server advertises no max_message_bytes")
    if size > 64 * 1024 * 1024:
        raise Undecided(f"max_message_bytes {size} is too large to probe")
    pad = "x" * (size + 1)
    resp = await ctx.http_call(
        "POST",
        "/mcp",
        content='{"pad":"' + pad + '"}',
        headers={"content-type": "application/json"},
    )
    if resp.status_code != 413:
        raise Fail(f"a {size + 10}-byte body → HTTP {resp.status_code}, expected 413")
    return None
