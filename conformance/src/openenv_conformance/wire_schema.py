"""Validate frames and documents against the JSON Schemas in `schemas/` (draft 2020-12).

Contract: `SchemaSet.load()` reads every `*.schema.json` of the schemas directory into a
`referencing.Registry` keyed by each file's `$id` (so cross-file `$ref`s resolve offline) and
`errors(name, instance)` returns human-readable error strings (empty list = valid), where `name`
is a file stem such as `ServerMessage`. Unknown names raise `KeyError` listing what exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from openenv_conformance.paths import schemas_dir

MAX_ERRORS = 5


class SchemaSet:
    """All wire schemas of one schemas directory, with compiled validators cached by name."""

    def __init__(self, directory: Path, documents: dict[str, dict[str, Any]]) -> None:
        self.directory = directory
        self._documents = documents
        resources = []
        for doc in documents.values():
            if "$id" in doc:
                resources.append((doc["$id"], Resource.from_contents(doc, DRAFT202012)))
        self._registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def load(cls, directory: Path | None = None) -> SchemaSet:
        root = directory if directory is not None else schemas_dir()
        docs: dict[str, dict[str, Any]] = {}
        for path in sorted(root.glob("*.schema.json")):
            try:
                docs[path.name.removesuffix(".schema.json")] = json.loads(path.read_text("utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        return cls(root, docs)

    def names(self) -> list[str]:
        return sorted(self._documents)

    def has(self, name: str) -> bool:
        return name in self._documents

    def first_of(self, *names: str) -> str | None:
        """The first of `names` that exists (schema files may be named in several ways)."""
        return next((n for n in names if n in self._documents), None)

    def validator(self, name: str) -> Draft202012Validator:
        if name not in self._validators:
            if name not in self._documents:
                raise KeyError(f"no schema {name!r} in {self.directory}; have: {self.names()}")
            self._validators[name] = Draft202012Validator(self._documents[name], registry=self._registry)
        return self._validators[name]

    def errors(self, name: str, instance: Any) -> list[str]:
        found = []
        for err in self.validator(name).iter_errors(instance):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            found.append(f"{where}: {err.message[:300]}")
            if len(found) >= MAX_ERRORS:
                break
        return found
