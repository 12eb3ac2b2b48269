"""Vendor the Kubernetes API schemas the Kubernetes provider and manifests are validated against.

Contract: ``main(argv) -> int``. ``SOURCE`` is a ``kubernetes-validate`` wheel (PyPI; it ships the
JSON Schemas that ``openapi2jsonschema`` derives from the Kubernetes API's own OpenAPI document, per
Kubernetes release) or a directory holding its ``kubernetes-json-schema/`` tree. The script takes
``VERSION``'s strict schemas (``additionalProperties: false``), keeps the ``$defs`` that ``KINDS``
reach (transitively), and writes ``tools/vendor/kubernetes/<VERSION>-strict-definitions.json``
(sorted keys, so a rerun is byte-identical) plus ``SHA256SUMS`` naming the source file, its sha256
and the output's sha256. The tests check the output against ``SHA256SUMS``.

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    .venv/bin/python tools/vendor_kubernetes_schemas.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "tools" / "vendor" / "kubernetes"
VERSION = "v1.37.0"
KINDS = (
    "io.k8s.api.core.v1.Pod",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.policy.v1.PodDisruptionBudget",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
)
REF_PREFIX = "#/$defs/"  # references inside `_definitions.json` are local


def read_definitions(source: Path) -> tuple[bytes, str]:
    """The bytes of `_definitions.json` for VERSION (strict), and the path they came from."""
    inner = f"kubernetes-json-schema/{VERSION}-local-strict/_definitions.json"
    if source.is_dir():
        path = source / inner
        return path.read_bytes(), str(path)
    with zipfile.ZipFile(source) as wheel:
        name = f"kubernetes_validate/{inner}"
        return wheel.read(name), f"{source.name}:{name}"


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found.add(ref[len(REF_PREFIX) :])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def subset(document: dict[str, Any]) -> dict[str, Any]:
    """The `$defs` reachable from KINDS, with the document's `$schema` and `$id`."""
    defs = document["$defs"]
    keep: set[str] = set()
    todo = list(KINDS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo += sorted(refs(defs[name]) - keep)
    return {"$schema": document["$schema"], "$id": document["$id"], "$defs": {k: defs[k] for k in sorted(keep)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="kubernetes-validate wheel or unpacked directory")
    args = parser.parse_args(argv)
    raw, origin = read_definitions(args.source)
    out = json.dumps(subset(json.loads(raw)), indent=1, sort_keys=True).encode() + b"\n"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    target = OUT_DIR / f"{VERSION}-strict-definitions.json"
    target.write_bytes(out)
    sums = f"{hashlib.sha256(raw).hexdigest()}  source {origin}\n{hashlib.sha256(out).hexdigest()}  {target.name}\n"
    (OUT_DIR / "SHA256SUMS").write_text(sums)
    print(f"wrote {target.relative_to(REPO_ROOT)} ({len(out)} bytes, {len(json.loads(out)['$defs'])} definitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
