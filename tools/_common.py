"""Shared helpers for the checks in ``tools/``: strict JSON loading and the offline schema registry.

Contract: ``load_json`` parses RFC 8259 JSON only (no ``NaN``/``Infinity``, no non-finite
numbers, no duplicate keys) and raises ``BadJson`` with the reason; ``load_schemas`` reads every
``schemas/*.schema.json`` (size-bounded) and ``build_registry`` makes a ``referencing.Registry``
keyed by each schema's ``$id``, so relative ``$ref``s resolve without any network access
(``retrieve`` refuses every unknown URI).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
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
        return json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float
        )
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


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)


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
    return Registry(retrieve=_refuse).with_resources(resources)  # type: ignore[call-arg]


def pointer(path: Any) -> str:
    """A JSON pointer (RFC 6901) for a jsonschema error path."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""
