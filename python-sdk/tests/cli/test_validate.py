"""`openenv validate`: each stage's failure is one line naming file, line and key; a URL gets the
quick profile; exit codes 0 / 1 / 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from openenv.cli.__main__ import main


@pytest.fixture
def env(tmp_path: Path) -> Path:
    assert main(["init", "check_env", "--template", "typed", "--dir", str(tmp_path)]) == 0
    return tmp_path / "check_env"


def _set(manifest: Path, old: str, new: str) -> None:
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new))


def test_no_serve_checks_manifest_layout_and_imports(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["validate", str(env), "--no-serve"]) == 0
    captured = capsys.readouterr()
    assert "valid manifest for check_env; app check_env.server.app:app imports" in captured.out
    assert captured.err == ""
    (env / "pyproject.toml").unlink()
    assert main(["validate", str(env / "openenv.yaml"), "--no-serve"]) == 0
    assert "openenv: warning: " in capsys.readouterr().err


def test_type_names_are_checked_against_the_environment(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = env / "openenv.yaml"
    _set(manifest, "action: CheckEnvAction", "action: MoveAction")
    assert main(["validate", str(env), "--no-serve"]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(manifest.read_text().splitlines(), 1) if text.startswith("action:"))
    assert err.startswith(f"openenv: {manifest}:{line}: action: 'MoveAction' is not the environment's action type")
    assert err.count("\n") == 1 and "(it has CheckEnvAction)" in err


def test_manifest_errors_carry_the_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = env / "openenv.yaml"
    _set(manifest, "  max_sessions: 16", "  max_sessions: -1")
    assert main(["validate", str(env)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(manifest.read_text().splitlines(), 1) if "max_sessions" in text)
    assert err.startswith(
        f"openenv: {manifest}:{line}: limits.max_sessions: Input should be greater than or equal to 1"
    )


def test_import_failures_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "broken_env", "--dir", str(tmp_path)]) == 0  # a name no other test imports
    (tmp_path / "broken_env" / "server" / "environment.py").write_text("raise RuntimeError('broken on purpose')\n")
    assert main(["validate", str(tmp_path / "broken_env"), "--no-serve"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: broken on purpose" in err and "Traceback" not in err


def test_url_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["validate", f"http://127.0.0.1:{port}", "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"127.0.0.1:{port}" in err and "start the server first" in err
    assert main(["validate", "http://127.0.0.1:9", "--timeout", "0"]) == 2
    assert "--timeout 0.0: must be in (0, 300]" in capsys.readouterr().err
