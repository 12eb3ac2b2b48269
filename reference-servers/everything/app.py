"""`build_app`: the everything server's ASGI app, configured from its own `openenv.yaml`.

The app takes its name, version, description and `limits` from the manifest (so they are
advertised in `/metadata` and enforced, OE-MAN-010), and its `/metadata.capabilities` from the
manifest's `capabilities`. It is an `OpenEnvApp` whose environment offers both typed steps
(`EverythingAction`, served by `EverythingEnvironment.step`) and MCP tools (served as JSON-RPC
only), a combination `create_app` does not offer yet: `EverythingApp` routes steps to `step()`
and validates them against `EverythingAction`. Keyword overrides (tests) win over the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml
from openenv.server import OpenEnvApp, ServerConfig
from openenv.server.faults import InvalidRequest
from openenv.server.http import HttpEndpoints

from .environment import EverythingAction, EverythingEnvironment

MANIFEST_PATH = Path(__file__).resolve().parent / "openenv.yaml"


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    """The manifest as a mapping (it is checked against the schema by the tests)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the manifest must be a mapping")
    return data


class _Endpoints(HttpEndpoints):
    """HTTP endpoints whose `/metadata` reports the manifest's capabilities."""

    def __init__(self, app: EverythingApp) -> None:
        super().__init__(app)
        self.capabilities = app.capabilities

    async def metadata(self, body: bytes) -> tuple[int, Any]:
        status, payload = await super().metadata(body)
        payload["capabilities"] = dict(self.capabilities)
        return status, payload


class EverythingApp(OpenEnvApp):
    """Typed steps plus MCP tools (JSON-RPC) in one session."""

    def __init__(self, config: ServerConfig, capabilities: dict[str, bool]) -> None:
        super().__init__(EverythingEnvironment, config)
        self.is_mcp = False  # steps are typed actions, not tool calls
        self.capabilities = capabilities
        self.http = _Endpoints(self)

    def validate_action(self, data: dict[str, Any]) -> Any:
        try:
            return EverythingAction.model_validate(data)
        except pydantic.ValidationError as exc:
            raise InvalidRequest.from_pydantic(exc) from None

    def action_schema(self) -> dict[str, Any]:
        return EverythingAction.model_json_schema()


def build_app(**overrides: Any) -> EverythingApp:
    """The app, configured from `openenv.yaml`; `overrides` are `ServerConfig` fields."""
    manifest = load_manifest()
    settings: dict[str, Any] = {
        "name": manifest["name"],
        "version": manifest["version"],
        "description": " ".join(str(manifest["description"]).split()),
        "v1": "openenv.v1" in manifest.get("protocol", []),
        **manifest.get("limits", {}),
        **overrides,
    }
    return EverythingApp(ServerConfig(**settings), dict(manifest.get("capabilities", {})))
