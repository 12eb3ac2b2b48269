"""Validate objects against the vendored Kubernetes v1.37.0 API schemas (`tools/vendor/kubernetes/`)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

VENDOR = Path(__file__).resolve().parents[3] / "tools" / "vendor" / "kubernetes"
DEFINITIONS = VENDOR / "v1.37.0-strict-definitions.json"
KIND_DEFINITIONS = {
    ("v1", "Pod"): "io.k8s.api.core.v1.Pod",
    ("v1", "Service"): "io.k8s.api.core.v1.Service",
    ("v1", "Status"): "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    ("apps/v1", "Deployment"): "io.k8s.api.apps.v1.Deployment",
    ("policy/v1", "PodDisruptionBudget"): "io.k8s.api.policy.v1.PodDisruptionBudget",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    ),
}


def recorded_sha256() -> str:
    """The vendored file's sha256 as `SHA256SUMS` records it."""
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name == DEFINITIONS.name:
            return digest
    raise AssertionError(f"SHA256SUMS does not list {DEFINITIONS.name}")


@cache
def _document() -> dict[str, Any]:
    raw = DEFINITIONS.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == recorded_sha256(), "the vendored schema differs from SHA256SUMS"
    document: dict[str, Any] = json.loads(raw)
    return document


@cache
def _validator(definition: str) -> jsonschema.Draft202012Validator:
    document = _document()
    registry: Registry[Any] = Registry().with_resource(document["$id"], Resource.from_contents(document))
    schema = {"$schema": document["$schema"], "$ref": f"{document['$id']}#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def errors(obj: dict[str, Any], definition: str | None = None) -> list[str]:
    """Schema violations of `obj` (by its apiVersion/kind unless `definition` is given)."""
    if definition is None:
        definition = KIND_DEFINITIONS[(obj.get("apiVersion", ""), obj.get("kind", ""))]
    found = _validator(definition).iter_errors(obj)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]


def validate(obj: dict[str, Any], definition: str | None = None) -> None:
    problems = errors(obj, definition)
    assert not problems, "\n".join(problems)
