"""Turn the captured openenv 0.10 transcripts into schema examples and invalid cases.

Contract: reads ``transcripts.txt``, ``transcripts2.txt``, ``transcripts3.txt`` and
``transcripts_coding.txt`` (and the ``GET /schema`` body ``schema_echo.json``) from ``--source`` (read-only; default
``../shared/reference/openenv-0.10`` next to the repository) and writes
``schemas/examples/<Schema>/legacy-*.json`` (frames and bodies 0.10 accepted or emitted) and
``schemas/invalid/<Schema>/legacy-*.json`` (frames 0.10 itself rejected at the protocol level),
plus ``schemas/examples/LEGACY.md`` mapping every written file to its transcript line. The output
is committed; tests never read the transcripts. Lines that are not strict JSON (``{not json``,
``NaN``, duplicate keys, truncated captures) are skipped and listed in ``LEGACY.md``.

Classification of a client frame uses 0.10's own reply: ``UNKNOWN_TYPE``/``SESSION_ERROR`` or an
envelope-level ``VALIDATION_ERROR`` (or a JSON-RPC -32600 for an ``mcp`` frame) make it invalid;
an action rejected by the environment's own action model (error ``loc`` inside the action) or an
``EXECUTION_ERROR`` leave the envelope valid, so such frames are examples whose name ends in
``-env-rejected``. Rerun with ``python tools/extract_transcripts.py`` after a new capture.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCES = ("transcripts.txt", "transcripts2.txt", "transcripts3.txt", "transcripts_coding.txt")
CLIENT_SCHEMA = {
    "reset": "WsResetRequest",
    "step": "WsStepRequest",
    "state": "WsStateRequest",
    "close": "WsCloseRequest",
    "mcp": "WsMcpRequest",
}
SERVER_SCHEMA = {
    "observation": "WsObservationResponse",
    "state": "WsStateResponse",
    "mcp": "WsMcpResponse",
    "error": "WsErrorResponse",
}
HTTP_LINE = re.compile(r"^(GET|POST) (/\S*)(?:\s+body: ?(.*))?$")
STATUS_LINE = re.compile(r"^-> (\d{3}) ")


class StrictJsonError(ValueError):
    """A line is not strict JSON (RFC 8259: no NaN/Infinity, no duplicate keys, finite)."""


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise StrictJsonError("duplicate key")
    return dict(pairs)


def _bad_constant(name: str) -> Any:
    raise StrictJsonError(f"non-standard literal {name}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError(f"non-finite number {text}")
    return value


def strict_loads(text: str) -> Any:
    """Parse ``text`` as strict JSON or raise ``StrictJsonError``/``ValueError``."""
    return json.loads(text, object_pairs_hook=_no_dupes, parse_constant=_bad_constant, parse_float=_finite)


@dataclass
class Output:
    """Collected cases: (kind, schema, stem) -> (value, origin, note)."""

    cases: dict[tuple[str, str, str], tuple[Any, str, str]] = field(default_factory=dict)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, schema: str, stem: str, value: Any, origin: str, note: str) -> None:
        key = (kind, schema, json.dumps(value, sort_keys=True))
        if key in self.seen:
            return
        self.seen.add(key)
        n = self.counters.get((kind, schema, stem), 0) + 1
        self.counters[(kind, schema, stem)] = n
        name = f"legacy-{stem}" if n == 1 else f"legacy-{stem}-{n}"
        self.cases[(kind, schema, name)] = (value, origin, note)


def _env_of(section: str, source: str) -> str:
    if source == "transcripts_coding.txt":
        return "coding"
    low = section.lower()
    if "typed" in low or "8002" in low or source == "transcripts3.txt":
        return "typed"
    return "echo"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")


def _jsonrpc_schema(value: dict[str, Any]) -> str:
    return "JsonRpcResponse" if ("result" in value or "error" in value) else "JsonRpcRequest"


def _classify_client(frame: Any, reply: Any) -> tuple[str, str, str]:
    """Return (kind, schema, note) for a client frame given 0.10's reply (or None)."""
    ftype = frame.get("type") if isinstance(frame, dict) else None
    schema = CLIENT_SCHEMA.get(ftype, "ClientMessage") if isinstance(ftype, str) else "ClientMessage"
    if not isinstance(reply, dict):
        return "examples", schema, "no reply (accepted)"
    data: dict[str, Any] = reply["data"] if isinstance(reply.get("data"), dict) else {}
    if reply.get("type") == "error":
        code = data.get("code")
        if code == "VALIDATION_ERROR" and ftype == "step":
            envelope_keys = set(frame) | {"data", "type"}
            locs = [e.get("loc", [None])[0] for e in data.get("errors", [])]
            if locs and all(loc not in envelope_keys for loc in locs):
                return "examples", schema, "0.10: VALIDATION_ERROR from the env's action model"
        if code == "EXECUTION_ERROR":
            return "examples", schema, "0.10: EXECUTION_ERROR raised by the env"
        return "invalid", schema, f"0.10: {code}"
    rpc_error = data.get("error") if reply.get("type") == "mcp" else None
    if isinstance(rpc_error, dict) and rpc_error.get("code") == -32600:
        return "invalid", schema, "0.10: JSON-RPC -32600 invalid request"
    return "examples", schema, f"0.10 replied {reply.get('type')}"


def _server_case(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return None
    if "jsonrpc" in value:
        return _jsonrpc_schema(value), "jsonrpc"
    schema = SERVER_SCHEMA.get(value.get("type", ""))
    return (schema, value["type"]) if schema else None


def _http_cases(out: Output, method: str, path: str, req: Any, status: int, body: Any, env: str, origin: str) -> None:
    stem = f"{env}-http-{method.lower()}-{_slug(path)}"
    ok = status == 200
    if path == "/reset":
        if req is not None:
            kind = "examples" if ok else "invalid"
            out.add(kind, "HttpResetRequest", stem, req, origin, f"0.10 answered {status}")
        if body is not None and status in (200, 422):
            schema = "HttpResetResponse" if ok else "HttpValidationError"
            out.add("examples", schema, f"{stem}-{status}", body, origin, f"0.10 sent {status}")
    elif path == "/step":
        if req is not None:
            env_side = status == 500 or (
                status == 422
                and isinstance(body, dict)
                and all(d.get("loc", ["body"])[0] != "body" for d in body.get("detail", []))
            )
            kind = "examples" if ok or env_side else "invalid"
            suffix = "-env-rejected" if env_side else ""
            out.add(kind, "HttpStepRequest", stem + suffix, req, origin, f"0.10 answered {status}")
        if body is not None and status in (200, 422):
            schema = "HttpStepResponse" if ok else "HttpValidationError"
            out.add("examples", schema, f"{stem}-{status}", body, origin, f"0.10 sent {status}")
    elif path == "/mcp":
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if req is not None:
            kind = "invalid" if code == -32600 else "examples"
            note = f"0.10 JSON-RPC error {code}" if code else "0.10 answered with a result"
            out.add(kind, "JsonRpcRequest", stem, req, origin, note)
        if body is not None:
            out.add("examples", "JsonRpcResponse", stem, body, origin, "0.10 sent it")
    elif ok and body is not None:
        by_path = {"/state": "State", "/health": "HealthResponse", "/metadata": "MetadataResponse"}
        if path in by_path:
            out.add("examples", by_path[path], stem, body, origin, "0.10 sent it")


def _try(text: str) -> tuple[bool, Any]:
    try:
        return True, strict_loads(text)
    except ValueError:
        return False, None


def parse_file(path: Path, out: Output) -> None:
    """Collect every frame/body of one transcript file into ``out``."""
    source = path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    part = section = ""
    pending: list[tuple[Any, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        origin = f"{source}:{i + 1}"
        env = _env_of(section, source)
        i += 1
        if line.startswith("## "):
            part, section, pending = line[3:], "", []
            continue
        if line.startswith("### "):
            section, pending = f"{part} {line[4:]}", []
            continue
        if line.startswith("# connect"):
            pending = []
            continue
        if line.startswith(">>> "):
            ok, value = _try(line[4:])
            if not ok:
                out.skipped.append((origin, line[:80]))
                pending.append((None, origin))
                continue
            if isinstance(value, dict) and "jsonrpc" in value:
                pending.append((value, origin))
                continue
            pending.append((value, origin))
            replied = i < len(lines) and lines[i].startswith("<<< {")
            if isinstance(value, dict) and value.get("type") == "close" and not replied:
                kind, schema, note = _classify_client(value, None)
                out.add(kind, schema, f"{env}-close", value, origin, note)
                pending.pop()
            continue
        if line.startswith("<<< ") and line[4:5] in "{[":
            text = line[4:]
            if text.startswith("["):
                continue  # connection-closed notes
            ok, reply = _try(text)
            if not ok:
                out.skipped.append((origin, line[:80]))
                if pending:
                    pending.pop(0)
                continue
            frame, forigin = pending.pop(0) if pending else (None, "")
            if frame is not None:
                if isinstance(frame, dict) and "jsonrpc" in frame:
                    bad = isinstance(reply.get("error"), dict) and reply["error"]["code"] == -32600
                    kind = "invalid" if bad else "examples"
                    out.add(kind, "JsonRpcRequest", f"{env}-ws-mcp", frame, forigin, "WS /mcp")
                else:
                    kind, schema, note = _classify_client(frame, reply)
                    ftype = frame.get("type") if isinstance(frame, dict) else None
                    if isinstance(ftype, str):
                        stem = f"{env}-{ftype}"
                    else:
                        stem = f"{env}-{'no-type' if isinstance(frame, dict) else 'non-object'}"
                    stem += "-env-rejected" if "env" in note else ""
                    out.add(kind, schema, stem, frame, forigin, note)
            case = _server_case(reply)
            if case:
                out.add("examples", case[0], f"{env}-{case[1]}", reply, origin, "0.10 sent it")
            continue
        m = HTTP_LINE.match(line)
        if m and i < len(lines) and STATUS_LINE.match(lines[i]):
            status = int(STATUS_LINE.match(lines[i]).group(1))  # type: ignore[union-attr]
            req_text = (m.group(3) or "").strip()
            req_ok, req = _try(req_text) if req_text else (False, None)
            if req_text and not req_ok:
                out.skipped.append((origin, line[:80]))
            body_text = lines[i + 1].strip() if i + 1 < len(lines) else ""
            body_ok, body = _try(body_text)
            _http_cases(
                out, m.group(1), m.group(2), req if req_ok else None, status, body if body_ok else None, env, origin
            )
            i += 2
            continue
        if line.startswith(("schema.", "GET ", "POST ", "raw ", "capture")):
            continue
        for blob in re.findall(r"'(\{.*?\})'", line) or [line[line.find("{") :]]:
            if not blob.startswith("{"):
                continue
            ok, value = _try(blob)
            if not ok:
                continue
            if "detail" in value:
                out.add("examples", "HttpValidationError", f"{env}-http", value, origin, "422")
            elif "description" in value and "name" in value:
                out.add("examples", "MetadataResponse", f"{env}-http", value, origin, "0.10")
            else:
                case = _server_case(value)
                if case:
                    out.add("examples", case[0], f"{env}-{case[1]}", value, origin, "0.10 sent it")


def write(out: Output, schemas_dir: Path) -> int:
    """Replace every ``legacy-*.json`` under ``schemas_dir`` with ``out``; return the count."""
    for kind in ("examples", "invalid"):
        for old in (schemas_dir / kind).glob("*/legacy-*.json"):
            old.unlink()
    rows = [
        "# Cases captured from openenv 0.10",
        "",
        "Written by `tools/extract_transcripts.py`; do not edit by hand.",
        "",
        "| file | origin | 0.10 reaction |",
        "|---|---|---|",
    ]
    for (kind, schema, name), (value, origin, note) in sorted(out.cases.items()):
        target = schemas_dir / kind / schema / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        rows.append(f"| `{kind}/{schema}/{name}.json` | {origin} | {note} |")
    rows += ["", "Skipped (not strict JSON or truncated in the capture):", ""]
    rows += [f"- {origin}: `{text.replace('`', '')}`" for origin, text in out.skipped]
    (schemas_dir / "examples" / "LEGACY.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(out.cases)


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=root.parent / "shared/reference/openenv-0.10")
    parser.add_argument("--root", type=Path, default=root)
    args = parser.parse_args(argv)
    out = Output()
    for name in SOURCES:
        path = args.source / name
        if not path.is_file():
            print(f"extract_transcripts: missing {path}", file=sys.stderr)
            return 1
        parse_file(path, out)
    echo_schema = args.source / "schema_echo.json"
    if echo_schema.is_file():
        value = strict_loads(echo_schema.read_text(encoding="utf-8"))
        out.add(
            "examples", "SchemaResponse", "echo-http-get-schema", value, echo_schema.name, "0.10 sent it (GET /schema)"
        )
    count = write(out, args.root / "schemas")
    print(f"extract_transcripts: wrote {count} cases, skipped {len(out.skipped)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
