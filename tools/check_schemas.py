"""Check ``schemas/``: the JSON Schemas are sound and the example corpora agree with them.

Contract: ``main(argv) -> int`` returns 0 when all of these hold and 1 otherwise, printing one
line ``<file>#<json-pointer>: <problem>`` per problem:

* every ``schemas/<Name>.schema.json`` is strict JSON, declares draft 2020-12 and passes its
  meta-schema, has ``$id`` ``https://openenv.dev/schemas/<Name>.schema.json`` (unique), a
  ``title`` equal to ``<Name>`` and a ``description``, and a ``description`` on every property;
* every ``$ref`` resolves through an offline registry of the local files;
* every ``schemas/examples/<Name>/*.json`` validates against ``<Name>`` and every
  ``schemas/invalid/<Name>/*.json`` does not; every schema has at least one of each;
* discriminated unions (``"discriminator": "type"``) only list members whose ``type`` is a
  ``const``, with no tag used twice; ``BaseErrorCode`` is a subset of ``ErrorCode``.

``--root`` points at another checkout (the tests use a broken copy).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.exceptions import Unresolvable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO_ROOT,
    SCHEMA_BASE,
    SCHEMA_SUFFIX,
    BadJson,
    SchemaFile,
    build_registry,
    load_json,
    load_schemas,
    pointer,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Subschemas under these keys are assertions, not documented fields.
ASSERTION_KEYS = frozenset({"if", "then", "else", "not", "anyOf", "allOf", "contains"})
META = Draft202012Validator(Draft202012Validator.META_SCHEMA)
SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SUBSCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Yield (pointer parts, subschema) for every subschema of ``node``."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key in SUBSCHEMA_MAPS:
        for name, sub in (node.get(key) or {}).items() if isinstance(node.get(key), dict) else ():
            yield from walk(sub, (*path, key, name))
    for key in SUBSCHEMA_LISTS:
        for idx, sub in enumerate(node.get(key) or []) if isinstance(node.get(key), list) else ():
            yield from walk(sub, (*path, key, str(idx)))
    for key in SUBSCHEMA_ONE:
        if isinstance(node.get(key), dict):
            yield from walk(node[key], (*path, key))


def check_schema_file(schema: SchemaFile, registry: Registry[Any]) -> list[str]:
    """Meta-schema, identity, documentation and ``$ref`` checks for one schema."""
    where = str(schema.path)
    doc = schema.contents
    if not isinstance(doc, dict):
        return [f"{where}#: a schema must be a JSON object"]
    errors = [f"{where}#{pointer(e.absolute_path)}: {e.message}" for e in META.iter_errors(doc)]
    if doc.get("$schema") != DRAFT:
        errors.append(f"{where}#/$schema: must be {DRAFT!r}")
    expected_id = f"{SCHEMA_BASE}{schema.name}{SCHEMA_SUFFIX}"
    if doc.get("$id") != expected_id:
        errors.append(f"{where}#/$id: is {doc.get('$id')!r}, expected {expected_id!r}")
    if doc.get("title") != schema.name:
        errors.append(f"{where}#/title: is {doc.get('title')!r}, expected {schema.name!r}")
    resolver = registry.resolver(base_uri=expected_id)
    for parts, sub in walk(doc):
        here = pointer(parts)
        if not isinstance(sub.get("description"), str) or not sub["description"].strip():
            documented = parts == () or (len(parts) >= 2 and parts[-2] == "properties")
            if documented and not ASSERTION_KEYS.intersection(parts):
                errors.append(f"{where}#{here}: missing description")
        ref = sub.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                errors.append(f"{where}#{here}/$ref: cannot resolve {ref!r} ({exc})")
    return errors


def check_union(schema: SchemaFile, by_name: dict[str, SchemaFile]) -> list[str]:
    """A ``"discriminator": "type"`` union lists members with distinct ``type`` consts."""
    doc = schema.contents
    if not isinstance(doc, dict) or "discriminator" not in doc:
        return []
    where = f"{schema.path}#/oneOf"
    prop = doc["discriminator"]
    if not isinstance(prop, str):
        return [f"{schema.path}#/discriminator: must be a property name string"]
    tags: dict[str, str] = {}
    errors: list[str] = []
    for idx, member in enumerate(doc.get("oneOf", [])):
        ref = member.get("$ref", "") if isinstance(member, dict) else ""
        target = by_name.get(ref.removesuffix(SCHEMA_SUFFIX))
        tag = (
            target.contents.get("properties", {}).get(prop, {}).get("const")
            if target and isinstance(target.contents, dict)
            else None
        )
        if not isinstance(tag, str):
            errors.append(f"{where}/{idx}: member {ref!r} has no string const {prop!r}")
        elif tag in tags:
            errors.append(f"{where}/{idx}: tag {tag!r} already used by {tags[tag]!r}")
        else:
            tags[tag] = ref
    return errors


def _enum_values(doc: Any) -> set[str]:
    if not isinstance(doc, dict):
        return set()
    values = [alt.get("const") for alt in doc.get("oneOf", []) if isinstance(alt, dict)]
    values += list(doc.get("enum", []))
    return {v for v in values if isinstance(v, str)}


def check_corpus(root: Path, by_name: dict[str, SchemaFile], registry: Registry[Any]) -> tuple[list[str], int]:
    """Examples must validate, invalid cases must not; every schema needs both."""
    errors: list[str] = []
    count = 0
    validators: dict[str, Draft202012Validator] = {}
    for kind in ("examples", "invalid"):
        base = root / "schemas" / kind
        present = {p.name for p in base.iterdir() if p.is_dir()} if base.is_dir() else set()
        for name in sorted(set(by_name) - present):
            errors.append(f"{base / name}#: schema {name} has no {kind} cases")
        for name in sorted(present):
            folder = base / name
            if name not in by_name:
                errors.append(f"{folder}#: no schema named {name}{SCHEMA_SUFFIX}")
                continue
            cases = sorted(folder.glob("*.json"))
            if not cases:
                errors.append(f"{folder}#: schema {name} has no {kind} cases")
            if name not in validators:
                validators[name] = Draft202012Validator(by_name[name].contents, registry=registry)
            for case in cases:
                count += 1
                try:
                    instance = load_json(case)
                except (BadJson, OSError, UnicodeDecodeError) as exc:
                    errors.append(f"{case}#: {exc}")
                    continue
                error = best_match(validators[name].iter_errors(instance))
                if kind == "examples" and error is not None:
                    errors.append(f"{case}#{pointer(error.absolute_path)}: {error.message}")
                if kind == "invalid" and error is None:
                    errors.append(f"{case}#: validates against {name} but must not")
    return errors, count


def run(root: Path) -> list[str]:
    """All checks on the tree at ``root``; the list of problems."""
    schemas_dir = root / "schemas"
    if not schemas_dir.is_dir():
        return [f"{schemas_dir}#: no schemas directory"]
    files, errors = load_schemas(schemas_dir)
    if not files:
        return [*errors, f"{schemas_dir}#: no *{SCHEMA_SUFFIX} files"]
    ids: dict[str, Path] = {}
    for schema in files:
        sid = schema.contents.get("$id") if isinstance(schema.contents, dict) else None
        if isinstance(sid, str):
            if sid in ids:
                errors.append(f"{schema.path}#/$id: {sid!r} also used by {ids[sid]}")
            ids[sid] = schema.path
    registry = build_registry(files)
    by_name = {s.name: s for s in files}
    for schema in files:
        errors += check_schema_file(schema, registry)
        errors += check_union(schema, by_name)
    if "BaseErrorCode" in by_name and "ErrorCode" in by_name:
        extra = _enum_values(by_name["BaseErrorCode"].contents) - _enum_values(by_name["ErrorCode"].contents)
        if extra:
            errors.append(f"{by_name['BaseErrorCode'].path}#/oneOf: not in ErrorCode: {extra}")
    if errors:  # corpus results are meaningless against broken schemas
        return errors
    corpus_errors, _ = check_corpus(root, by_name, registry)
    return corpus_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check schemas/ and its example corpora.")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    errors = list(dict.fromkeys(run(args.root.resolve())))
    for line in errors:
        print(line)
    if errors:
        print(f"check_schemas: FAILED ({len(errors)} problems)")
        return 1
    print("check_schemas: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
