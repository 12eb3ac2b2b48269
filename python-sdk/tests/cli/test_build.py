"""`openenv build` without an engine: the build context, the tag, the generated Dockerfile, and
one-line errors (no engine, bad build args, bad wheels). The real build is test_build_docker.py."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from openenv.cli import build
from openenv.cli.__main__ import main
from openenv.cli.project import find_project


@pytest.fixture
def env(tmp_path: Path) -> Path:
    assert main(["init", "box_env", "--template", "sandbox", "--dir", str(tmp_path)]) == 0
    return tmp_path / "box_env"


def test_context_tag_and_generated_dockerfile(env: Path, tmp_path: Path) -> None:
    project = find_project(env)
    assert build.default_tag(project) == "openenv/box_env:0.1.0"
    (env / "Dockerfile").unlink()
    (env / ".venv").mkdir()
    (env / ".venv" / "big").write_bytes(b"x" * 1000)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "a-1-py3-none-any.whl").write_bytes(b"PK")
    context = build.make_context(project, wheels, tmp_path / "ctx")
    files = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert "Dockerfile" in files and "wheels/a-1-py3-none-any.whl" in files
    assert not any(f.startswith(("tests/", ".venv/")) for f in files)
    dockerfile = (context / "Dockerfile").read_text()
    assert (
        "COPY . /app/box_env" in dockerfile
        and 'CMD ["python3", "-m", "openenv", "serve", "/app/box_env"]' in dockerfile
    )
    assert "HEALTHCHECK" in dockerfile and "--no-index --find-links /app/box_env/wheels" in dockerfile


def test_build_args() -> None:
    args = argparse.Namespace(build_arg=["A=1", "B=x=y"], base_image="img:local")
    assert build.build_args(args) == {"A": "1", "B": "x=y", "BASE_IMAGE": "img:local"}


def test_errors_are_one_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert main(["build", str(env)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Docker engine reachable" in err and "openenv serve PATH" in err
    assert main(["build", str(env), "--build-arg", "NOEQUALS"]) == 2
    assert "--build-arg 'NOEQUALS': expected KEY=VALUE" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "nowhere")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    with pytest.raises(Exception, match=r"no \*\.whl files"):
        build.make_context(find_project(env), tmp_path, tmp_path / "ctx2")
