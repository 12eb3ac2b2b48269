"""tools/package_data.py: the harness's package data and version copy are fresh, --check bites,
stale and extra files are named and fixed, and the harness reads its data (env vars override)."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module(name)


package_data = _load("package_data")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the sources and the package data of the checkout."""
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "spec").mkdir()
    shutil.copy(ROOT / "spec" / "clause-index.json", tmp_path / "spec")
    shutil.copy(ROOT / "openapi.yaml", tmp_path)
    (tmp_path / package_data.SDK_VERSION_FILE).parent.mkdir(parents=True)
    shutil.copy(ROOT / package_data.SDK_VERSION_FILE, tmp_path / package_data.SDK_VERSION_FILE)
    assert package_data.main(["--root", str(tmp_path)]) == 0
    return tmp_path


def test_committed_package_data_is_fresh() -> None:
    assert package_data.main(["--root", str(ROOT), "--check"]) == 0


def test_check_names_stale_missing_and_extra_files(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert package_data.main(["--root", str(tree), "--check"]) == 0
    (tree / "schemas" / "Limits.schema.json").write_text('{"title": "changed"}')
    (tree / package_data.DATA / "clause-index.json").unlink()
    (tree / package_data.DATA / "schemas" / "Gone.schema.json").write_text("{}")
    capsys.readouterr()
    assert package_data.main(["--root", str(tree), "--check"]) == 1
    out = capsys.readouterr().out
    assert "data/schemas/Limits.schema.json: stale" in out
    assert "data/clause-index.json: missing" in out
    assert "data/schemas/Gone.schema.json: not produced by any source" in out
    assert package_data.main(["--root", str(tree)]) == 0
    assert package_data.main(["--root", str(tree), "--check"]) == 0
    assert not (tree / package_data.DATA / "schemas" / "Gone.schema.json").exists()


def test_the_version_is_written_once(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version_file = tree / package_data.SDK_VERSION_FILE
    version_file.write_text(version_file.read_text().replace('__version__ = "', '__version__ = "9.'))
    assert package_data.main(["--root", str(tree), "--check"]) == 1
    assert "_version.py: stale" in capsys.readouterr().out
    assert package_data.main(["--root", str(tree)]) == 0
    assert '__version__ = "9.' in (tree / package_data.HARNESS_VERSION_FILE).read_text()
    version_file.write_text("VERSION = 1\n")
    assert package_data.main(["--root", str(tree)]) == 2
    assert "no line `__version__" in capsys.readouterr().err


def test_versions_agree_with_the_installed_packages() -> None:
    import openenv
    import openenv_conformance

    assert openenv.__version__ == openenv_conformance.__version__ == package_data.read_version(ROOT)


def test_harness_reads_package_data_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openenv_conformance import paths

    monkeypatch.delenv("OPENENV_SCHEMAS_DIR", raising=False)
    monkeypatch.delenv("OPENENV_CLAUSE_INDEX", raising=False)
    monkeypatch.delenv("OPENENV_OPENAPI", raising=False)
    assert paths.schemas_dir() == paths.DATA_DIR / "schemas"
    assert paths.clause_index_path() == paths.DATA_DIR / "clause-index.json"
    assert paths.openapi_path() == paths.DATA_DIR / "openapi.yaml"
    monkeypatch.setenv("OPENENV_SCHEMAS_DIR", str(ROOT / "schemas"))
    assert paths.schemas_dir() == ROOT / "schemas"
    monkeypatch.setenv("OPENENV_SCHEMAS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"no '\*\.schema\.json'"):
        paths.schemas_dir()
    monkeypatch.setenv("OPENENV_CLAUSE_INDEX", str(tmp_path / "nope.json"))
    with pytest.raises(FileNotFoundError, match=r"OPENENV_CLAUSE_INDEX=.* is not a file"):
        paths.clause_index_path()


def test_dockerfile_version_defaults_follow(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = package_data.read_version(tree)
    dockerfile = tree / "reference-servers" / "demo" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text("FROM base\nARG OPENENV_VERSION=0.0.1\nRUN echo ${OPENENV_VERSION}\n")
    (tree / "reference-servers" / "other").mkdir()
    (tree / "reference-servers" / "other" / "Dockerfile").write_text("FROM base\n")  # no ARG: left alone
    assert package_data.main(["--root", str(tree), "--check"]) == 1
    assert "reference-servers/demo/Dockerfile: stale" in capsys.readouterr().out
    assert package_data.main(["--root", str(tree)]) == 0
    assert dockerfile.read_text() == f"FROM base\nARG OPENENV_VERSION={version}\nRUN echo ${{OPENENV_VERSION}}\n"
    assert (tree / "reference-servers" / "other" / "Dockerfile").read_text() == "FROM base\n"
    assert package_data.main(["--root", str(tree), "--check"]) == 0
