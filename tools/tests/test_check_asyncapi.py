"""tools/check_asyncapi.py passes on the real asyncapi.yaml and bites on broken copies."""

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


check_asyncapi = _load("check_asyncapi")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copy(ROOT / "asyncapi.yaml", tmp_path / "asyncapi.yaml")
    return tmp_path


def replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = check_asyncapi.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_real_document_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(ROOT, capsys)
    assert rc == 0, out


def test_misspelled_action_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "asyncapi.yaml", "action: receive", "action: recieve")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert (
        f"{tree / 'asyncapi.yaml'}#/operations/receiveReset/action: 'recieve' is not one of ['send', 'receive']"
    ) in out


def test_missing_payload_schema_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "asyncapi.yaml", "V1ErrorResponse.schema.json", "V1Err.schema.json")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "#/components/messages/v1Error/payload/$ref: './schemas/V1Err.schema.json' does not exist" in out
    assert "V1ErrorResponse.schema.json#: frame schema not used by asyncapi.yaml" in out


def test_payload_schema_invalid_for_asyncapi_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # AsyncAPI only allows the string form of "discriminator" (toolchain.md §2a).
    path = tree / "schemas" / "WsStepRequest.schema.json"
    replace(path, '"type": "object",', '"type": "object", "discriminator": {"propertyName": "type"},')
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "#/components/schemas/WsStepRequest/discriminator: " in out


def test_dangling_local_ref_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(tree / "asyncapi.yaml", "#/channels/ws/messages/v1Session", "#/channels/ws/messages/v1Hello")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "'#/channels/ws/messages/v1Hello' does not resolve" in out


def test_unparsable_yaml_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "asyncapi.yaml").write_text("asyncapi: [3.0.0\n")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "asyncapi.yaml#: cannot read: not valid YAML" in out
