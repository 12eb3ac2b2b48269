"""`openenv push`: the Hugging Face Space bundle written by --dry-run (checked with the real
`huggingface_hub` card parser), destinations validated, nothing overwritten, no engine → one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from huggingface_hub import SpaceCard
from openenv.cli.__main__ import main


@pytest.fixture
def env(tmp_path: Path) -> Path:
    assert main(["init", "space_env", "--template", "typed", "--dir", str(tmp_path)]) == 0
    return tmp_path / "space_env"


def test_dry_run_writes_a_docker_space_bundle(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "__pycache__").mkdir()
    (env / "__pycache__" / "x.pyc").write_bytes(b"\0")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "demo-1.0-py3-none-any.whl").write_bytes(b"PK")
    out = tmp_path / "bundle"
    capsys.readouterr()
    assert (
        main(
            [
                "push",
                str(env),
                "--to",
                "hf-space:alice/space_env",
                "--dry-run",
                "--out",
                str(out),
                "--wheels",
                str(wheels),
            ]
        )
        == 0
    )
    assert "dry run: Space bundle for hf-space:alice/space_env" in capsys.readouterr().out
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted([
        ".dockerignore", "Dockerfile", "README.md", "__init__.py", "client.py", "models.py", "openenv.yaml",
        "pyproject.toml", "server/__init__.py", "server/app.py", "server/environment.py",
        "wheels/demo-1.0-py3-none-any.whl",
    ])  # fmt: skip
    card = SpaceCard.load(out / "README.md")
    assert card.data.sdk == "docker" and card.data.app_port == 8000
    assert card.data.tags == ["openenv", "space_env"] and card.data.title == "space_env"
    assert "openenv init space_env --template typed" in card.text  # the environment's own README follows
    front = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert set(front) == {"title", "sdk", "app_port", "tags", "pinned", "short_description"}
    dockerfile = (out / "Dockerfile").read_text()
    assert (
        "ENV " in dockerfile
        and "HOST=0.0.0.0" in dockerfile
        and 'CMD ["python3", "-m", "openenv", "serve"' in dockerfile
    )


def test_dry_run_without_dockerfile_generates_one_and_keeps_front_matter_single(env: Path, tmp_path: Path) -> None:
    (env / "Dockerfile").unlink()
    (env / "README.md").write_text("---\ntitle: old\n---\n\n# Mine\n")
    out = tmp_path / "bundle"
    assert main(["push", str(env), "--to", "hf-space:alice/x", "--dry-run", "--out", str(out)]) == 0
    text = (out / "README.md").read_text()
    assert text.count("---\n") == 2 and "title: space_env" in text and text.rstrip().endswith("# Mine")
    assert "FROM ${BASE_IMAGE}" in (out / "Dockerfile").read_text()
    assert not (env / "Dockerfile").exists()


def test_bundle_never_overwrites(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep").write_text("x")
    assert main(["push", str(env), "--to", "hf-space:alice/x", "--dry-run", "--out", str(out)]) == 2
    assert "already exists and is not empty; not overwriting it" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep"]


@pytest.mark.parametrize(
    "destination",
    ["alice/x", "hf-space:", "hf-space:alice", "hf-space:a/b/c", "registry:", "registry:noslash", "s3:x/y"],
)
def test_bad_destinations(env: Path, capsys: pytest.CaptureFixture[str], destination: str) -> None:
    assert main(["push", str(env), "--to", destination, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected hf-space:USER/NAME or registry:HOST/REPO[:TAG]" in err


def test_registry_push_without_an_engine(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert main(["push", str(env), "--to", "registry:127.0.0.1:5000/space_env:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"openenv: no Docker engine reachable at unix://{tmp_path}")
    assert "or run the environment without a container: `openenv serve PATH`" in err


def test_default_bundle_folder_inside_the_environment(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(env)
    assert main(["push", ".", "--to", "hf-space:alice/space_env", "--dry-run"]) == 0
    bundle = env / "space_env-space"
    assert (bundle / "README.md").is_file() and not (bundle / "space_env-space").exists()
    assert main(["push", ".", "--to", "hf-space:alice/space_env", "--dry-run", "--out", "inner"]) == 0
    assert not (env / "inner" / "inner").exists() and not (env / "inner" / "space_env-space").exists()
