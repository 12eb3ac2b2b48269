"""Generate values from an environment's JSON Schema: valid actions, and specific invalid ones.

Contract: `valid_instance(schema, rng, minimal=...)` returns a value that validates against
`schema` (a `/schema` action or an MCP tool `inputSchema`) for the keyword subset environments use
(`type`, `const`, `enum`, `properties`, `required`, `additionalProperties`, `items`, `minItems`,
`minimum`/`maximum` (+ exclusive), `minLength`/`maxLength`, `anyOf`/`oneOf`/`allOf`, local `$ref`).
Numbers and sizes stay small (no unbounded payloads). `invalid_instances(schema, rng)` returns
`(description, value)` pairs that a validator of that schema must reject. Results are decided by
`rng` alone, so the same seed gives the same actions. Callers verify results with a validator.
"""

from __future__ import annotations

import math
import random
import string
from typing import Any

MAX_DEPTH = 6
SMALL_RANGE = 10


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 16:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {}
        node: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, dict) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **merged} if merged else node
        seen += 1
    return schema


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    if "properties" in schema or "required" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return ["string"]


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    lo = int(schema.get("minLength", 0))
    hi = int(schema.get("maxLength", lo + SMALL_RANGE))
    n = rng.randint(max(lo, min(1, hi)), max(lo, min(hi, lo + SMALL_RANGE)))
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


def _bound(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _number(schema: dict[str, Any], rng: random.Random, integer: bool) -> int | float:
    lo, hi = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
    step = 1.0 if integer else 1e-6
    if (ex_lo := _bound(schema.get("exclusiveMinimum"))) is not None:
        lo = ex_lo + step
    if (ex_hi := _bound(schema.get("exclusiveMaximum"))) is not None:
        hi = ex_hi - step
    if lo is None and hi is None:
        lo, hi = 0.0, float(SMALL_RANGE)
    elif lo is None:
        assert hi is not None
        lo = hi - SMALL_RANGE
    elif hi is None:
        hi = lo + SMALL_RANGE
    assert lo is not None and hi is not None
    if integer:
        a, b = math.ceil(lo), math.floor(hi)
        return rng.randint(a, max(a, min(b, a + SMALL_RANGE)))
    return round(rng.uniform(lo, min(hi, lo + SMALL_RANGE)), 3)


def valid_instance(
    schema: Any,
    rng: random.Random,
    *,
    minimal: bool = False,
    root: dict[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or schema is True:
        return {} if depth == 0 else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0] if minimal else rng.choice(schema["enum"])
    if "default" in schema and minimal and depth > 0:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [o for o in options if _resolve(o, root) != {"type": "null"}] or options
            pick = usable[0] if minimal else rng.choice(usable)
            return valid_instance(pick, rng, minimal=minimal, root=root, depth=depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        merged.update({k: v for k, v in schema.items() if k != "allOf"})
        return valid_instance(merged, rng, minimal=minimal, root=root, depth=depth)
    kind = _types(schema)[0] if minimal else rng.choice(_types(schema))
    if depth > MAX_DEPTH:
        kind = "null" if "null" in _types(schema) else kind
    if kind == "object":
        props = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if isinstance(k, str)]
        out: dict[str, Any] = {}
        for name in required:
            out[name] = valid_instance(props.get(name, {}), rng, minimal=minimal, root=root, depth=depth + 1)
        if not minimal:
            for name, sub in props.items():
                if name in out or name == "metadata" or rng.random() < 0.5:
                    continue
                sub_r = _resolve(sub, root)
                if isinstance(sub_r, dict) and sub_r.get("type") == "boolean":
                    continue  # optional switches (debug/fail flags) are left at their default
                out[name] = valid_instance(sub, rng, minimal=True, root=root, depth=depth + 1)
        return out
    if kind == "array":
        n = int(schema.get("minItems", 0 if minimal else 1))
        items = schema.get("items", {})
        return [valid_instance(items, rng, minimal=minimal, root=root, depth=depth + 1) for _ in range(n)]
    if kind == "integer":
        return _number(schema, rng, True)
    if kind == "number":
        return _number(schema, rng, False)
    if kind == "boolean":
        return False if minimal else rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def invalid_instances(schema: Any, rng: random.Random) -> list[tuple[str, Any]]:
    """Values the schema rejects: wrong top-level type, missing required field, bad field types,
    enum/range violations, an unexpected key when `additionalProperties` is false."""
    root = schema if isinstance(schema, dict) else {}
    schema = _resolve(schema, root)
    base = valid_instance(schema, rng, minimal=True)
    out: list[tuple[str, Any]] = [("a JSON array instead of an object", [base])]
    if not isinstance(schema, dict) or not isinstance(base, dict):
        return out
    props: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name in base:
            broken = dict(base)
            del broken[name]
            out.append((f"required field {name!r} missing", broken))
    for name, sub in props.items():
        sub = _resolve(sub, root)
        if not isinstance(sub, dict) or name not in base:
            continue
        kinds = _types(sub)
        if "anyOf" in sub or "oneOf" in sub:
            continue
        if "object" not in kinds:
            out.append((f"field {name!r} is an object", {**base, name: {"x": [1]}}))
        if isinstance(sub.get("enum"), list):
            out.append((f"field {name!r} outside its enum", {**base, name: "\u2603not-an-option"}))
        if isinstance(sub.get("maximum"), int | float) and kinds[0] in ("integer", "number"):
            out.append((f"field {name!r} above its maximum", {**base, name: sub["maximum"] + 1}))
        if isinstance(sub.get("minimum"), int | float) and kinds[0] in ("integer", "number"):
            out.append((f"field {name!r} below its minimum", {**base, name: sub["minimum"] - 1}))
    if schema.get("additionalProperties") is False:
        extra = "zz_" + "".join(rng.choice(string.ascii_lowercase) for _ in range(6))
        out.append((f"unexpected field {extra!r}", {**base, extra: 1}))
    return out
