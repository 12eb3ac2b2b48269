"""Check ``asyncapi.yaml`` against the official AsyncAPI 3.0.0 JSON Schema, offline.

Contract: ``main(argv) -> int`` returns 0 when all of these hold and 1 otherwise, printing one
line ``<file>#<json-pointer>: <problem>`` per problem:

* the vendored ``tools/vendor/asyncapi/3.0.0.json`` matches the sha256 in its README;
* every external ``$ref`` of ``asyncapi.yaml`` names an existing ``schemas/*.schema.json``; the
  document, with those files bundled into ``components/schemas`` (``_common.bundle``), validates
  against the AsyncAPI 3.0.0 schema (draft-07);
* every local ``$ref`` (``#/...``) in the bundled document resolves;
* every WebSocket frame schema in ``schemas/`` (``Ws*``/``V1*`` with a ``type`` const) is the
  payload of some message.

``--root`` points at another checkout (the tests use a broken copy).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO_ROOT,
    BadJson,
    bundle,
    load_json,
    load_schemas,
    load_yaml,
    local_refs,
    pointer,
    resolve_pointer,
)

VENDOR = Path(__file__).resolve().parent / "vendor" / "asyncapi"
SPEC_FILE = VENDOR / "3.0.0.json"
FRAME_NAME = re.compile(r"^(Ws|V1)[A-Za-z0-9]+$")


def load_validator() -> tuple[Draft7Validator | None, list[str]]:
    """The AsyncAPI 3.0.0 validator, after checking the vendored file's recorded sha256."""
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256 \| `([0-9a-f]{64})`", readme)
    actual = hashlib.sha256(SPEC_FILE.read_bytes()).hexdigest()
    if not recorded or recorded.group(1) != actual:
        return None, [f"{SPEC_FILE}#: sha256 {actual} does not match {VENDOR / 'README.md'}"]
    spec = load_json(SPEC_FILE)
    resource = Resource.from_contents(spec, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(
        spec.get("$id", "asyncapi-3.0.0"), resource
    )  # offline: unknown URIs fail
    return Draft7Validator(spec, registry=registry), []


def frame_schemas(root: Path) -> set[str]:
    """Names of the WebSocket frame schemas that asyncapi.yaml must use."""
    files, _ = load_schemas(root / "schemas")
    names = set()
    for schema in files:
        doc = schema.contents
        tag = doc.get("properties", {}).get("type", {}).get("const") if isinstance(doc, dict) else None
        if FRAME_NAME.match(schema.name) and isinstance(tag, str):
            names.add(schema.name)
    return names


def run(root: Path) -> list[str]:
    """All checks on ``root/asyncapi.yaml``; the list of problems."""
    path = root / "asyncapi.yaml"
    try:
        document = load_yaml(path)
    except (OSError, BadJson, UnicodeDecodeError) as exc:
        return [f"{path}#: cannot read: {exc}"]
    if not isinstance(document, dict):
        return [f"{path}#: the document must be a mapping"]
    validator, errors = load_validator()
    bundled = bundle(document, path)
    errors += bundled.errors
    used: set[str] = set()
    for where, ref in bundled.external_refs:
        target = (path.parent / ref.split("#", 1)[0]).resolve()
        if not target.is_file():
            errors.append(f"{path}#{where}: {ref!r} does not exist")
        if "/payload/" in where or where.endswith("/payload/$ref"):
            used.add(target.name.removesuffix(".schema.json"))
    if validator is not None and not bundled.errors:
        for error in validator.iter_errors(bundled.document):
            best = best_match([error]) or error
            errors.append(f"{path}#{pointer(best.absolute_path)}: {best.message}")
    for where, ref in local_refs(bundled.document):
        if ref.startswith("#") and not resolve_pointer(bundled.document, ref[1:]):
            errors.append(f"{path}#{where}: {ref!r} does not resolve")
    for name in sorted(frame_schemas(root) - used):
        errors.append(f"{root / 'schemas' / name}.schema.json#: frame schema not used by {path.name}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate asyncapi.yaml (AsyncAPI 3.0.0).")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    errors = list(dict.fromkeys(run(args.root.resolve())))
    for line in errors:
        print(line)
    if errors:
        print(f"check_asyncapi: FAILED ({len(errors)} problems)")
        return 1
    print("check_asyncapi: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
