"""The everything server's ASGI app, configured from its own `openenv.yaml`.

Name, version, description, limits and tasks come from the manifest (advertised in `/metadata` and
enforced, OE-MAN-010); the environment offers typed steps and MCP tools (JSON-RPC) in one session.
Keyword overrides (tests) win over the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from openenv.server import OpenEnvApp, create_app

from .environment import EverythingEnvironment

MANIFEST_PATH = Path(__file__).resolve().parent / "openenv.yaml"


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    """The manifest as a plain mapping (for tests and tools that compare against it)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the manifest must be a mapping")
    return data


def build_app(**overrides: Any) -> OpenEnvApp:
    """The app, configured from `openenv.yaml`; `overrides` are `ServerConfig` fields."""
    return create_app(EverythingEnvironment, manifest=MANIFEST_PATH, **overrides)
