"""tools/codegen.py: committed models are fresh, --check bites, models accept every example."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import TypeAdapter, ValidationError

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "python-sdk" / "src" / "openenv" / "_generated"


def _load(name: str) -> ModuleType:
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module(name)


codegen = _load("codegen")


def _generated_package() -> ModuleType:
    """Import the generated package by path, independent of the rest of the SDK."""
    name = "openenv_generated_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, GENERATED / "__init__.py", submodule_search_locations=[str(GENERATED)]
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copytree(GENERATED, tmp_path / codegen.OUTPUT)
    return tmp_path


def test_committed_models_are_fresh(capsys: pytest.CaptureFixture[str]) -> None:
    rc = codegen.main(["--check"])
    out = capsys.readouterr().out
    assert rc == 0, out


def test_stale_model_fails_with_diff(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "Limits.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["max_sessions"]["maximum"] = 4096
    path.write_text(json.dumps(doc, indent=2))
    rc = codegen.main(["--root", str(tree), "--check"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "Limits_schema.py (regenerated)" in out
    assert "+            le=4096," in out
    assert "is stale" in out


def test_hand_edited_model_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tree / codegen.OUTPUT / "State_schema.py"
    module.write_text(module.read_text() + "\n# local tweak\n")
    rc = codegen.main(["--root", str(tree), "--check"])
    assert rc == 1
    assert "-# local tweak" in capsys.readouterr().out


def test_regenerate_writes_header_with_input_digest(tree: Path) -> None:
    shutil.rmtree(tree / codegen.OUTPUT)
    assert codegen.main(["--root", str(tree)]) == 0
    digest = codegen.inputs_digest(codegen.input_schemas(tree))
    text = (tree / codegen.OUTPUT / "WsStepRequest_schema.py").read_text()
    assert text.startswith('"""Wire models generated from schemas/WsStepRequest.schema.json')
    assert f"sha256 of all schema inputs: {digest}" in text


def test_broken_schema_reports_codegen_failure(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "schemas" / "State.schema.json").write_text("{not json")
    rc = codegen.main(["--root", str(tree), "--check"])
    assert rc == 1
    assert "codegen failed" in capsys.readouterr().out


def _cases(kind: str) -> list[tuple[str, Path]]:
    base = ROOT / "schemas" / kind
    return [(d.name, f) for d in sorted(base.iterdir()) if d.is_dir() for f in sorted(d.glob("*.json"))]


def test_generated_models_import_and_accept_every_example() -> None:
    package = _generated_package()
    checked = 0
    for name, case in _cases("examples"):
        model = getattr(package, name, None)
        if model is None:  # collapsed into its users by the generator (RequestId, JsonRpcResponse)
            assert name in {"RequestId", "JsonRpcResponse", "ConformanceReport"}, name
            continue
        TypeAdapter(model).validate_json(case.read_bytes())
        checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("ClientMessage", "legacy-echo-frobnicate"),
        ("WsResetRequest", "v1-id"),
        ("ErrorData", "v1-only-code"),
        ("V1ClientMessage", "id-too-long"),
        ("V1ClientMessage", "negative-id"),
        ("V1ObservationData", "missing-truncated"),
        ("Manifest", "typo-key"),
        ("Capabilities", "bad-name"),
        ("Limits", "extra-key"),
    ],
)
def test_generated_models_reject_structural_invalid_cases(name: str, case: str) -> None:
    model = getattr(_generated_package(), name)
    data = (ROOT / "schemas" / "invalid" / name / f"{case}.json").read_bytes()
    with pytest.raises(ValidationError):
        TypeAdapter(model).validate_json(data)
