"""tools/check_openapi.py passes on the real openapi.yaml and bites on broken copies."""

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


check_openapi = _load("check_openapi")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copy(ROOT / "openapi.yaml", tmp_path / "openapi.yaml")
    return tmp_path


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = check_openapi.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_real_document_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(ROOT, capsys)
    assert rc == 0, out


def test_response_without_description_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "openapi.yaml", "description: The server is up.", "descriptio: The server is up.")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert (
        f"{tree / 'openapi.yaml'}#/paths/~1health/get/responses/200: 'description' is a required property"
    ) in out.replace('"', "'")


def test_dangling_external_ref_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "openapi.yaml", "./schemas/State.schema.json", "./schemas/Stat.schema.json")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "'./schemas/Stat.schema.json' does not exist" in out
    assert "State.schema.json#: body schema not used by openapi.yaml" in out


def test_link_to_unknown_operation_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "openapi.yaml", "              operationId: step\n", "              operationId: stpe\n")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "#/paths/~1reset/post/responses/200/links/step/operationId: no operation 'stpe'" in out


def test_duplicate_operation_id_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "openapi.yaml", "operationId: getMetadata", "operationId: getHealth")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "#/paths/~1metadata/get/operationId: 'getHealth' also used at /paths/~1health/get" in out


def test_dangling_local_ref_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "openapi.yaml", "#/components/responses/ValidationFailed", "#/components/responses/Nope")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "'#/components/responses/Nope' does not resolve" in out
