"""`create_app`: explicit arguments win over the manifest's, which win over the class defaults."""

from __future__ import annotations

from pathlib import Path

from openenv.server import create_app

from tests.envs import LineEnv


def test_name_and_settings_precedence(tmp_path: Path) -> None:
    manifest = tmp_path / "openenv.yaml"
    manifest.write_text("spec_version: 1\nname: from_manifest\nversion: 2.0.0\napp: m:app\n")
    assert create_app(LineEnv).config.name == "LineEnv"
    assert create_app(LineEnv, manifest=manifest).config.name == "from_manifest"
    app = create_app(LineEnv, name="explicit", manifest=manifest, max_sessions=3)
    assert (app.config.name, app.config.version, app.config.max_sessions) == ("explicit", "2.0.0", 3)
