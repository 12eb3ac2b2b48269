"""Generate the wire-message reference page ``docs/reference.md`` from ``schemas/``, ``asyncapi.yaml``,
``openapi.yaml`` and the clauses of ``spec/``.

Contract:

* Every schema of ``schemas/`` gets one section with the anchor ``#<name in lowercase>``: its
  description, where it travels (the AsyncAPI messages whose payload it is, the OpenAPI operations
  that carry it), a table of its fields (name, type, required, description; ``$ref`` types link to
  the referenced section), the first of its ``schemas/examples/<Name>/`` files, and the clauses
  that govern it.
* The clauses that govern a schema are derived, never typed in: clause ids cited in the schema's
  own descriptions; for a WebSocket payload, the ``spec/`` clauses of a mode the payload is used in
  whose text names its frame type in backticks (`` `step` ``); for an HTTP body, the clauses whose
  text names its path in a code span (`` `POST /reset` ``); for any schema, the clauses whose text
  names the schema itself, and every clause of a spec page that names the schema's file
  (``schemas/<Name>.schema.json``).
* ``main(argv)`` writes the page; ``--check`` renders it in memory and returns 1 when the
  committed page differs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_yaml
from clause_index import Clause, parse_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = Path("docs") / "reference.md"
MAX_EXAMPLE_CHARS = 1500
SPEC_LINK = "../spec/"
CLAUSE_ID_RE = re.compile(r"\bOE-[A-Z][A-Z0-9]*-\d{3}\b")
WS_PAGES = frozenset({"overview.md", "websocket.md", "versioning.md", "errors.md", "limits.md", "mcp.md"})
HTTP_PAGES = frozenset({"http.md", "mcp.md", "limits.md", "errors.md", "security.md"})


@dataclass
class Use:
    """Where a schema travels."""

    ws: list[tuple[str, str, str, str]] = field(default_factory=list)  # (key, name, title, summary)
    http: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, role)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].split("#", 1)[0].removesuffix(".schema.json")


def collect_uses(asyncapi: Any, openapi: Any) -> dict[str, Use]:
    """Schema name → where it travels on the wire."""
    uses: dict[str, Use] = {}
    for key, msg in (asyncapi.get("components", {}).get("messages") or {}).items():
        ref = (msg.get("payload") or {}).get("$ref", "")
        if ref:
            uses.setdefault(_ref_name(ref), Use()).ws.append(
                (key, msg.get("name", key), msg.get("title", key), msg.get("summary", ""))
            )
    for path, item in (openapi.get("paths") or {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for content in (op.get("requestBody") or {}).get("content", {}).values():
                ref = (content.get("schema") or {}).get("$ref", "")
                if ref:
                    uses.setdefault(_ref_name(ref), Use()).http.append((method.upper(), path, "request body"))
            for status, resp in (op.get("responses") or {}).items():
                for content in (resp.get("content") or {}).values():
                    ref = (content.get("schema") or {}).get("$ref", "")
                    if ref:
                        uses.setdefault(_ref_name(ref), Use()).http.append(
                            (method.upper(), path, f"{status} response body")
                        )
    return uses


def _descriptions(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                out.append(value)
            else:
                out += _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            out += _descriptions(value)
    return out


def governing(
    name: str, schema: Any, use: Use, clauses: Sequence[Clause], pages: dict[str, str] | None = None
) -> list[Clause]:
    """The clauses that govern one schema (see the module contract), in spec order."""
    documented = {page for page, text in (pages or {}).items() if f"schemas/{name}.schema.json" in text}
    cited = {cid for text in _descriptions(schema) for cid in CLAUSE_ID_RE.findall(text)}
    frame_types = {n for _, n, _, _ in use.ws}
    modes = {"v1" if key.startswith("v1") else "base" for key, _, _, _ in use.ws}
    paths = {p for _, p, _ in use.http}
    name_re = re.compile(rf"\b{re.escape(name)}\b")
    out: list[Clause] = []
    for clause in clauses:
        text = clause.text
        hit = clause.id in cited or clause.page in documented or bool(name_re.search(text))
        if not hit and frame_types and clause.page in WS_PAGES and (clause.mode == "all" or clause.mode in modes):
            hit = any(f"`{t}`" in text for t in frame_types)
        if not hit and paths and clause.page in HTTP_PAGES:
            spans = re.findall(r"`([^`]*)`", text)
            hit = any(re.search(rf"(^|\s){re.escape(p)}($|[\s?])", s) for s in spans for p in paths)
        if hit:
            out.append(clause)
    return out


def type_of(node: Any) -> str:
    """A short Markdown rendering of a property's type."""
    if not isinstance(node, dict):
        return "any" if node is True else "never"
    if "$ref" in node:
        ref = node["$ref"]
        if ref.startswith("#"):
            return f"`{ref.rsplit('/', 1)[-1]}`"
        target = _ref_name(ref)
        return f"[{target}](#{target.lower()})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(type_of(n) for n in node[key])
    kind = node.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(f"`{k}`" for k in kind)
    if kind == "array" and "items" in node:
        return f"array of {type_of(node['items'])}"
    return f"`{kind}`"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def fields_table(schema: Any) -> list[str]:
    props = schema.get("properties") or {}
    if not props:
        return []
    required = set(schema.get("required") or [])
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for prop, node in props.items():
        desc = node.get("description", "") if isinstance(node, dict) else ""
        rows.append(f"| `{prop}` | {type_of(node)} | {'yes' if prop in required else 'no'} | {_cell(desc)} |")
    extra = schema.get("additionalProperties", True)
    rows.append("")
    rows.append("Other members: " + ("not allowed." if extra is False else "allowed."))
    return rows


def example(root: Path, name: str) -> list[str]:
    folder = root / "schemas" / "examples" / name
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return []
    text = json.dumps(json.loads(files[0].read_text(encoding="utf-8")), indent=2, ensure_ascii=False)
    if len(text) > MAX_EXAMPLE_CHARS:
        text = text[:MAX_EXAMPLE_CHARS] + "\n…"
    more = f" ({len(files) - 1} more in the repository)" if len(files) > 1 else ""
    return [f"Example `schemas/examples/{name}/{files[0].name}`{more}:", "", "```json", text, "```"]


def section(
    root: Path, name: str, schema: Any, use: Use, clauses: Sequence[Clause], pages: dict[str, str]
) -> list[str]:
    lines = [f"### {name} {{ #{name.lower()} }}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += [f"Schema: [`schemas/{name}.schema.json`](../schemas/{name}.schema.json)", ""]
    for key, frame, title, summary in use.ws:
        lines.append(f"* WebSocket `/ws` message `{key}` — frame `{frame}`, {title}: {_cell(summary)}")
    for method, path, role in use.http:
        lines.append(f"* HTTP `{method} {path}` — {role}")
    if use.ws or use.http:
        lines.append("")
    table = fields_table(schema)
    if table:
        lines += [*table, ""]
    elif "oneOf" in schema or "anyOf" in schema:
        lines += [f"One of: {type_of(schema)}.", ""]
    elif "type" in schema or "enum" in schema:
        lines += [f"Type: {type_of(schema)}.", ""]
    ex = example(root, name)
    if ex:
        lines += [*ex, ""]
    gov = governing(name, schema, use, clauses, pages)
    if gov:
        lines.append("Governed by: " + ", ".join(f"[{c.id}]({SPEC_LINK}{c.page}#{c.anchor})" for c in gov) + ".")
    else:
        lines.append("Governed by: no clause names it directly.")
    lines.append("")
    return lines


def render(root: Path) -> str:
    clauses, problems = parse_spec(root / "spec")
    if problems:
        raise ValueError(f"spec/ has malformed clauses, fix them first: {problems[0]}")
    asyncapi = load_yaml(root / "asyncapi.yaml")
    openapi = load_yaml(root / "openapi.yaml")
    uses = collect_uses(asyncapi, openapi)
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted((root / "spec").glob("*.md"))}
    schemas = {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((root / "schemas").glob("*.schema.json"))
    }
    ws = [n for n in schemas if uses.get(n, Use()).ws]
    http = [n for n in schemas if n not in ws and uses.get(n, Use()).http]
    rest = [n for n in schemas if n not in ws and n not in http]
    out = [
        "# Wire reference",
        "",
        "Generated by `tools/wire_reference.py` from `schemas/`, `asyncapi.yaml`, `openapi.yaml` and the",
        "clauses of `spec/`; do not edit (`make check` fails when it is stale). The schemas are the",
        'source of truth; this page is a reading aid. "Governed by" lists the clauses that cite the',
        "schema, name it, or name its frame type (WebSocket) or its path (HTTP).",
        "",
        f"{len(schemas)} schemas: {len(ws)} WebSocket payloads, {len(http)} HTTP bodies, {len(rest)} shared"
        " types and documents.",
        "",
        "## WebSocket operations",
        "",
        "| operation | direction | messages |",
        "|---|---|---|",
    ]
    for op_key, op in (asyncapi.get("operations") or {}).items():
        msgs = [ref["$ref"].rsplit("/", 1)[-1] for ref in op.get("messages") or []]
        links = []
        for key in msgs:
            payload = _ref_name(asyncapi["components"]["messages"][key]["payload"]["$ref"])
            links.append(f"[`{key}`](#{payload.lower()})")
        direction = "client → server" if op.get("action") == "receive" else "server → client"
        out.append(f"| `{op_key}` — {_cell(op.get('summary', ''))} | {direction} | {', '.join(links)} |")
    out += ["", "## WebSocket messages", ""]
    for name in ws:
        out += section(root, name, schemas[name], uses[name], clauses, pages)
    out += ["## HTTP bodies", ""]
    for name in http:
        out += section(root, name, schemas[name], uses[name], clauses, pages)
    out += ["## Shared types and documents", ""]
    for name in rest:
        out += section(root, name, schemas[name], uses.get(name, Use()), clauses, pages)
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) docs/reference.md from the schemas.")
    parser.add_argument("--check", action="store_true", help="fail when the page is stale; write nothing")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        fresh = render(args.root)
    except (OSError, ValueError, KeyError) as exc:
        print(f"wire_reference: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    out = args.root / OUT
    current = out.read_text(encoding="utf-8") if out.is_file() else None
    if args.check:
        if current != fresh:
            print(f"wire_reference: {OUT} is stale: run `.venv/bin/python tools/wire_reference.py`", file=sys.stderr)
            return 1
        print(f"wire_reference: {OUT} fresh")
        return 0
    if current != fresh:
        out.write_text(fresh, encoding="utf-8")
    print(f"wire_reference: wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
