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

from openenv_conformance.checks._common import disc
from openenv_conformance.context import CaseContext
from openenv_conformance.paths import repo_file
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


@check("http.health", title="GET /health → 200 {status: healthy}")
async def health(ctx: CaseContext) -> str | None:
    body = await ctx.get_json("/health")
    _valid(ctx, "HealthResponse", body, "/health body")
    if body.get("status") != "healthy":
        raise Fail(f"/health status is {body.get('status')!r}, expected 'healthy'")
    return None


@check("http.metadata", title="GET /metadata → 200 with the metadata document")
async def metadata(ctx: CaseContext) -> str | None:
    _valid(ctx, "MetadataResponse", await ctx.get_json("/metadata"), "/metadata body")
    return None


@check("http.schema", title="GET /schema → 200 with action/observation/state JSON Schemas")
async def schema(ctx: CaseContext) -> str | None:
    body = await ctx.get_json("/schema")
    _valid(ctx, "SchemaResponse", body, "/schema body")
    for key in ("action", "observation", "state"):
        if not isinstance(body.get(key), dict):
            raise Fail(f"/schema has no object {key!r}")
    return None


@check("http.reset", title="POST /reset → 200 with the reset response (when served)")
async def http_reset(ctx: CaseContext) -> str | None:
    resp = await ctx.http_call("POST", "/reset", json_body=dict(ctx.options.reset_data))
    if resp.status_code in (404, 405):
        raise Unimplemented("HTTP /reset is not served (production mode)")
    if resp.status_code != 200:
        raise Fail(f"POST /reset → HTTP {resp.status_code}")
    _valid(ctx, "HttpResetResponse", _json(resp, "/reset"), "/reset body")
    return None


@check("http.step", title="POST /step {action} → 200 with the step response (when served)")
async def http_step(ctx: CaseContext) -> str | None:
    resp = await ctx.http_call("POST", "/step", json_body={"action": disc(ctx).valid_action()})
    if resp.status_code in (404, 405):
        raise Unimplemented("HTTP /step is not served (production mode)")
    if resp.status_code != 200:
        raise Fail(f"POST /step → HTTP {resp.status_code}")
    _valid(ctx, "HttpStepResponse", _json(resp, "/step"), "/step body")
    return None


@check("http.validation_422", title="invalid /reset and /step bodies → 422 with detail list")
async def validation_422(ctx: CaseContext) -> str | None:
    cases: list[tuple[str, Any]] = [("/reset", {"seed": -1}), ("/step", {"no_action": 1})]
    served = 0
    for path, body in cases:
        resp = await ctx.http_call("POST", path, json_body=body)
        if resp.status_code in (404, 405):
            continue
        served += 1
        if resp.status_code != 422:
            raise Fail(f"POST {path} {json.dumps(body)} → HTTP {resp.status_code}, expected 422")
        _valid(ctx, "HttpValidationError", _json(resp, path), f"{path} 422 body")
    if not served:
        raise Unimplemented("HTTP /reset and /step are not served")
    return None


async def _rpc(ctx: CaseContext, raw: str) -> tuple[int, Any]:
    resp = await ctx.http_call(
        "POST", "/mcp", content=raw, headers={"content-type": "application/json"}
    )
    if not resp.content:
        return resp.status_code, None
    return resp.status_code, _json(resp, "/mcp")


@check("http.mcp.errors", title="POST /mcp answers bad JSON-RPC with the standard error codes")
async def mcp_errors(ctx: CaseContext) -> str | None:
    probes = [
        ("{bad", -32700, None),
        ('{"jsonrpc":"2.0","id":3}', -32600, None),
        ('{"jsonrpc":"2.0","method":"zz/no-such-method","id":4}', -32601, 4),
    ]
    for raw, code, rid in probes:
        status, body = await _rpc(ctx, raw)
        if status == 404:
            raise Unimplemented("POST /mcp is not served")
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            raise Fail(f"{raw!r} → HTTP {status} {str(body)[:200]}: no JSON-RPC error object")
        _valid(ctx, "JsonRpcErrorResponse", body, f"/mcp reply to {raw!r}")
        if body["error"].get("code") != code:
            raise Fail(f"{raw!r} → error code {body['error'].get('code')}, expected {code}")
        if body.get("id") != rid:
            raise Fail(f"{raw!r} → id {body.get('id')!r}, expected {rid!r}")
    return None


@check("http.mcp.notification", title="a JSON-RPC notification on POST /mcp gets no response")
async def mcp_notification(ctx: CaseContext) -> str | None:
    status, body = await _rpc(ctx, '{"jsonrpc":"2.0","method":"notifications/initialized"}')
    if status == 404:
        raise Unimplemented("POST /mcp is not served")
    if body is not None:
        raise Fail(f"notification answered with HTTP {status} and a body: {str(body)[:200]}")
    if status != 202:
        raise Fail(f"notification answered with HTTP {status}, expected 202 and no body")
    return None


def _location(ctx: CaseContext, served: bool) -> list[str]:
    if served:
        return [ctx.target.http_url("/openapi.json")]
    local = repo_file("openapi.yaml")
    if local is None:
        raise Undecided("no /openapi.json served and no openapi.yaml found")
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


@check(
    "http.openapi.schemathesis",
    title="schemathesis (examples, coverage, fuzzing, stateful links) finds no failures",
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
            "--seed", str(ctx.options.seed), "--workers", "1", "--no-color",
            "--request-timeout", str(ctx.timeout_s),
            "--generation-deterministic", "--suppress-health-check", "all",
            "--report", "ndjson", "--report-ndjson-path", str(ndjson),
        ]  # fmt: skip
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
    if not failures:
        failures = _failure_lines(text)
    shown = "; ".join(failures[:8]) or tail[-400:]
    raise Fail(f"schemathesis exit {proc.returncode}: {shown}")
