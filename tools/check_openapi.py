"""Check ``openapi.yaml`` (OpenAPI 3.1) with ``openapi-spec-validator``, offline.

Contract: ``main(argv) -> int`` returns 0 when all of these hold and 1 otherwise, printing one
line ``<file>#<json-pointer>: <problem>`` per problem:

* every external ``$ref`` names an existing ``schemas/*.schema.json``; the document with those
  files bundled into ``components/schemas`` (``_common.bundle``) passes
  ``openapi_spec_validator`` (OpenAPI 3.1);
* every local ``$ref`` (``#/...``) in the bundled document resolves;
* every operation has an ``operationId`` (unique) and every link names an existing one;
* every HTTP body schema (``Http*``, ``HealthResponse``, ``MetadataResponse``,
  ``SchemaResponse``, ``State``, ``JsonRpcRequest``, ``JsonRpcResponse``,
  ``CapacityErrorResponse``) is referenced.

``--root`` points at another checkout (the tests use a broken copy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO_ROOT,
    BadJson,
    bundle,
    load_yaml,
    local_refs,
    pointer,
    resolve_pointer,
)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BODY_SCHEMAS = frozenset({
    "HttpResetRequest", "HttpResetResponse", "HttpStepRequest", "HttpStepResponse",
    "HttpValidationError", "HealthResponse", "MetadataResponse", "SchemaResponse", "State",
    "JsonRpcRequest", "JsonRpcResponse", "CapacityErrorResponse",
})  # fmt: skip


def check_operations(document: dict[str, Any], path: Path) -> list[str]:
    """Unique ``operationId`` on every operation; links point at existing operations."""
    errors: list[str] = []
    ids: dict[str, str] = {}
    links: list[tuple[str, Any]] = []
    for route, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            where = pointer(("paths", route, method))
            op_id = op.get("operationId")
            if not isinstance(op_id, str):
                errors.append(f"{path}#{where}: operation has no operationId")
            elif op_id in ids:
                errors.append(f"{path}#{where}/operationId: {op_id!r} also used at {ids[op_id]}")
            else:
                ids[op_id] = where
            for status, response in (op.get("responses") or {}).items():
                for name, link in ((response or {}).get("links") or {}).items():
                    parts = ("paths", route, method, "responses", status, "links", name)
                    links.append((pointer(parts), link))
    for where, link in links:
        target = link.get("operationId") if isinstance(link, dict) else None
        if isinstance(target, str) and target not in ids:
            errors.append(f"{path}#{where}/operationId: no operation {target!r}")
    return errors


def run(root: Path) -> list[str]:
    """All checks on ``root/openapi.yaml``; the list of problems."""
    path = root / "openapi.yaml"
    try:
        document = load_yaml(path)
    except (OSError, BadJson, UnicodeDecodeError) as exc:
        return [f"{path}#: cannot read: {exc}"]
    if not isinstance(document, dict):
        return [f"{path}#: the document must be a mapping"]
    bundled = bundle(document, path)
    errors = list(bundled.errors)
    used: set[str] = set()
    for where, ref in bundled.external_refs:
        target = (path.parent / ref.split("#", 1)[0]).resolve()
        if not target.is_file():
            errors.append(f"{path}#{where}: {ref!r} does not exist")
        used.add(target.name.removesuffix(".schema.json"))
    for where, ref in local_refs(bundled.document):
        if ref.startswith("#") and not resolve_pointer(bundled.document, ref[1:]):
            errors.append(f"{path}#{where}: {ref!r} does not resolve")
    if not errors:  # the validator raises instead of reporting on unresolvable refs
        validator = OpenAPIV31SpecValidator(bundled.document, base_uri=path.resolve().as_uri())
        try:
            for error in validator.iter_errors():
                where = pointer(getattr(error, "absolute_path", ()) or ())
                message = str(getattr(error, "message", error)).split("\n", 1)[0]
                errors.append(f"{path}#{where}: {message}")
        except Unresolvable as exc:
            errors.append(f"{path}#: unresolvable reference: {exc}")
    errors += check_operations(document, path)
    for name in sorted(BODY_SCHEMAS - used):
        if (root / "schemas" / f"{name}.schema.json").is_file():
            errors.append(f"{root / 'schemas' / name}.schema.json#: body schema not used by openapi.yaml")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate openapi.yaml (OpenAPI 3.1).")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    errors = list(dict.fromkeys(run(args.root.resolve())))
    for line in errors:
        print(line)
    if errors:
        print(f"check_openapi: FAILED ({len(errors)} problems)")
        return 1
    print("check_openapi: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
