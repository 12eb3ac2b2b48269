"""openenv.yaml validates against the Manifest schema and agrees with the served app."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import referencing
import yaml
from openenv.server.background import BackgroundServer

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = Path(__file__).resolve().parents[1] / "openenv.yaml"


def manifest() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(MANIFEST.read_text())
    return data


def test_manifest_is_valid() -> None:
    schemas = [json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.schema.json")]
    registry = referencing.Registry().with_resources((s["$id"], referencing.Resource.from_contents(s)) for s in schemas)
    schema = next(s for s in schemas if s["$id"].endswith("/Manifest.schema.json"))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(manifest())


def test_manifest_matches_the_app(echo_server: BackgroundServer) -> None:
    data = manifest()
    assert data["app"] == "echo_env.server:app"
    meta = httpx.get(f"{echo_server.base_url}/metadata", timeout=5).json()
    assert meta["name"] == data["name"] and meta["version"] == data["version"]
    assert meta["protocols"] == data["protocol"]
    assert meta["capabilities"] == data["capabilities"]
    dockerfile = (MANIFEST.parent / "Dockerfile").read_text()
    assert f"EXPOSE {data['port']}" in dockerfile and "USER openenv" in dockerfile
    assert "/health" in dockerfile and "HEALTHCHECK" in dockerfile
