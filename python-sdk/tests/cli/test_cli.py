"""The `openenv` command line: one-line errors naming file and field, exit codes, subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openenv.cli.__main__ import main

REPO = Path(__file__).resolve().parents[3]


def test_validate_accepts_every_reference_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    manifests = sorted((REPO / "reference-servers").glob("*/openenv.yaml"))
    assert len(manifests) >= 5
    for manifest in manifests:
        assert main(["validate", str(manifest), "--no-serve"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert out.count("valid manifest") == len(manifests)
    assert "app echo_env.server:app imports" in out and "no `app` (runtime node)" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nporrt: 8000\n", "porrt: unknown top-level key"),
        ("name: x\nport: high\n", "port: Input should be a valid integer"),
        ("name: [1\n", ":2: not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("spec_version: 2\nname: x\n", "spec_version"),
        ("x-team: rl\n", "name"),
    ],
)
def test_validate_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "openenv.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"openenv: {path}") and expected in err


def test_missing_file_and_bad_serve_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/openenv.yaml"]) == 2
    assert capsys.readouterr().err == "openenv: /nonexistent/openenv.yaml: no such file or directory — check the path\n"
    assert main(["serve", "no_such_module:app"]) == 2
    assert capsys.readouterr().err.startswith("openenv: cannot load no_such_module:app")


def test_conformance_subcommand_reaches_the_harness() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openenv", "conformance", "run", "http://127.0.0.1:9", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "cannot reach http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
