"""Load `schemas/` (the source of truth) for tests: validators and the example corpora."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def registry() -> referencing.Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text())
        resource = referencing.Resource.from_contents(contents)
        resources.append((contents["$id"], resource))
    return referencing.Registry().with_resources(resources)


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry())


def is_valid(name: str, instance: Any) -> bool:
    return validator(name).is_valid(instance)


def corpus(kind: str, *names: str) -> list[tuple[str, Any]]:
    """(case id, parsed JSON) for every file of `schemas/<kind>/<name>/` (kind: examples|invalid)."""
    cases = []
    for name in names:
        for path in sorted((SCHEMAS / kind / name).glob("*.json")):
            cases.append((f"{name}/{path.name}", json.loads(path.read_text())))
    return cases
