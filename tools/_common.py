"""Shared helpers for the checks in ``tools/``: strict JSON loading and the offline schema registry.

Contract: ``load_json`` parses RFC 8259 JSON only (no ``NaN``/``Infinity``, no non-finite
numbers, no duplicate keys) and raises ``BadJson`` with the reason; ``load_schemas`` reads every
``schemas/*.schema.json`` (size-bounded) and ``build_registry`` makes a ``referencing.Registry``
keyed by each schema's ``$id``, so relative ``$ref``s resolve without any network access
(the default ``retrieve`` refuses every unknown URI).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_BASE = "https://openenv.dev/schemas/"
SCHEMA_SUFFIX = ".schema.json"
MAX_FILE_BYTES = 4 * 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parent.parent


class BadJson(ValueError):
    """A file is not strict JSON, or too large to be a schema/example."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise BadJson(f"duplicate key {key!r}")
        seen.add(key)
    return dict(pairs)


def _constant(name: str) -> Any:
    raise BadJson(f"non-standard literal {name}")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"number {text} is not finite")
    return value


def loads_strict(text: str) -> Any:
    """Parse strict JSON text; raise ``BadJson`` on anything RFC 8259 does not allow."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise BadJson(f"invalid JSON: {exc}") from exc


def load_json(path: Path) -> Any:
    """Read ``path`` (at most ``MAX_FILE_BYTES``) as strict JSON."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadJson(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    return loads_strict(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SchemaFile:
    """One ``schemas/<Name>.schema.json`` file."""

    name: str
    path: Path
    contents: Any


def schema_name(path: Path) -> str:
    """``schemas/Foo.schema.json`` -> ``Foo``."""
    return path.name[: -len(SCHEMA_SUFFIX)]


def load_schemas(schemas_dir: Path) -> tuple[list[SchemaFile], list[str]]:
    """Load every schema file; return the loaded ones and one error line per unreadable file."""
    files: list[SchemaFile] = []
    errors: list[str] = []
    for path in sorted(schemas_dir.glob(f"*{SCHEMA_SUFFIX}")):
        try:
            files.append(SchemaFile(schema_name(path), path, load_json(path)))
        except (BadJson, OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}#: {exc}")
    return files, errors


def build_registry(files: list[SchemaFile]) -> Registry[Any]:
    """A registry of every schema under its ``$id`` (and its file URI); offline only."""
    resources: list[tuple[str, Resource[Any]]] = []
    for schema in files:
        if not isinstance(schema.contents, dict):
            continue
        resource = Resource.from_contents(schema.contents, default_specification=DRAFT202012)
        uri = schema.contents.get("$id")
        if isinstance(uri, str):
            resources.append((uri, resource))
        resources.append((schema.path.resolve().as_uri(), resource))
    return Registry().with_resources(resources)  # the default retrieve refuses unknown URIs


def pointer(path: Any) -> str:
    """A JSON pointer (RFC 6901) for a jsonschema error path."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


MAX_BUNDLE_DEPTH = 64


@dataclass
class Bundle:
    """A document whose external schema ``$ref``s were moved into ``components/schemas``."""

    document: Any
    schemas: dict[str, Any]
    external_refs: list[tuple[str, str]]  # (pointer in the source document, ref as written)
    errors: list[str]


def bundle(document: Any, doc_path: Path) -> Bundle:
    """Rewrite every ``$ref`` to a local ``*.schema.json`` file into ``#/components/schemas/<Name>``.

    Referenced schema files are loaded (strictly), their own relative ``$ref``s rewritten the same
    way, ``$id`` dropped (it would change the base URI inside the bundle), and the result stored
    under ``components.schemas``. Refs that start with ``#`` are left alone. Problems (missing
    file, non-schema ref, too deep) are reported as ``<file>#<pointer>: ...`` lines.
    """
    out = Bundle(document=None, schemas={}, external_refs=[], errors=[])

    def rewrite(node: Any, base_dir: Path, where: str, ptr: tuple[str, ...], depth: int) -> Any:
        if depth > MAX_BUNDLE_DEPTH:
            out.errors.append(f"{where}#{pointer(ptr)}: nesting deeper than {MAX_BUNDLE_DEPTH}")
            return node
        if isinstance(node, list):
            return [rewrite(v, base_dir, where, (*ptr, str(i)), depth + 1) for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        result = {k: rewrite(v, base_dir, where, (*ptr, k), depth + 1) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            if where == str(doc_path):
                out.external_refs.append((pointer((*ptr, "$ref")), ref))
            file_part = ref.split("#", 1)[0]
            target = (base_dir / file_part).resolve()
            if not file_part.endswith(SCHEMA_SUFFIX):
                out.errors.append(f"{where}#{pointer((*ptr, '$ref'))}: {ref!r} is not a schema file")
                return result
            name = schema_name(target)
            result["$ref"] = f"#/components/schemas/{name}"
            if name not in out.schemas:
                out.schemas[name] = {}  # placeholder: stops cycles
                try:
                    loaded = load_json(target)
                except (BadJson, OSError, UnicodeDecodeError) as exc:
                    out.errors.append(f"{where}#{pointer((*ptr, '$ref'))}: cannot load {ref!r}: {exc}")
                    return result
                body = rewrite(loaded, target.parent, str(target), (), depth + 1)
                if isinstance(body, dict):
                    body.pop("$id", None)
                out.schemas[name] = body
        return result

    rewritten = rewrite(document, doc_path.parent, str(doc_path), (), 0)
    if out.schemas and isinstance(rewritten, dict):
        components = rewritten.setdefault("components", {})
        if isinstance(components, dict):
            existing = components.setdefault("schemas", {})
            if isinstance(existing, dict):
                for name, schema in out.schemas.items():
                    if name in existing:
                        out.errors.append(f"{doc_path}#/components/schemas/{name}: name clash")
                    existing[name] = schema
    out.document = rewritten
    return out


def local_refs(node: Any, ptr: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every ``$ref`` string in ``node`` as (pointer of the ref, value)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((pointer((*ptr, key)), value))
            else:
                found += local_refs(value, (*ptr, key))
    elif isinstance(node, list):
        for idx, value in enumerate(node):
            found += local_refs(value, (*ptr, str(idx)))
    return found


def resolve_pointer(document: Any, fragment: str) -> bool:
    """Whether the JSON pointer ``fragment`` (``/a/b``) exists in ``document``."""
    node = document
    for raw in fragment.split("/")[1:] if fragment else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def load_yaml(path: Path) -> Any:
    """Read a YAML document (size-bounded) with the safe loader; ``BadJson`` if unparsable."""
    import yaml

    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadJson(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadJson(f"not valid YAML: {exc}".replace("\n", " ")) from exc
