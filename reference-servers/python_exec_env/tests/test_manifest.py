"""openenv.yaml validates against the Manifest schema and names the real classes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import referencing
import yaml

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = Path(__file__).resolve().parents[1] / "openenv.yaml"


def test_manifest_is_valid_and_points_at_real_names() -> None:
    schemas = [json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.schema.json")]
    registry = referencing.Registry().with_resources((s["$id"], referencing.Resource.from_contents(s)) for s in schemas)
    manifest_schema = next(s for s in schemas if s["$id"].endswith("/Manifest.schema.json"))
    manifest = yaml.safe_load(MANIFEST.read_text())
    jsonschema.Draft202012Validator(manifest_schema, registry=registry).validate(manifest)
    assert not [key for key in manifest if key.startswith("x-")]
    assert manifest["name"] == "python_exec_env" and manifest["port"] == 8000
    assert manifest["app"] == "python_exec_env.server:app"
    source = (MANIFEST.parent / "environment.py").read_text()
    for key in ("action", "observation"):
        assert f"class {manifest[key]}(" in source
