"""openenv.yaml validates against the Manifest schema and names the real classes and tasks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import referencing
from everything.app import load_manifest
from everything.environment import TASKS

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(__file__).resolve().parents[1]


def test_manifest_is_valid_and_consistent() -> None:
    schemas = [json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.schema.json")]
    registry = referencing.Registry().with_resources((s["$id"], referencing.Resource.from_contents(s)) for s in schemas)
    schema = next(s for s in schemas if s["$id"].endswith("/Manifest.schema.json"))
    manifest = load_manifest()
    jsonschema.Draft202012Validator(schema, registry=registry).validate(manifest)
    assert manifest["app"] == "everything.server:app"
    source = (PACKAGE / "environment.py").read_text()
    for key in ("action", "observation"):
        assert f"class {manifest[key]}(" in source
    tasks = {t["name"]: t["split"] for t in manifest["tasks"]}
    assert tasks == {name: spec["split"] for name, spec in TASKS.items()}
    dockerfile = (PACKAGE / "Dockerfile").read_text()
    assert f"EXPOSE {manifest['port']}" in dockerfile and "USER openenv" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
