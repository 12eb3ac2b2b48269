"""tools/check_schemas.py passes on the real tree and fails, naming file and pointer, on breakage.

Also covers tools/extract_transcripts.py on a small synthetic transcript (never ../shared).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module(name)


check_schemas = _load("check_schemas")
extract = _load("extract_transcripts")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    return tmp_path


def edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = check_schemas.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_real_tree_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(ROOT, capsys)
    assert rc == 0, out
    assert out.strip() == "check_schemas: OK"


def test_every_schema_has_examples_and_invalid_cases() -> None:
    names = {p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.schema.json")}
    for kind in ("examples", "invalid"):
        present = {p.name for p in (ROOT / "schemas" / kind).iterdir() if p.is_dir()}
        assert names <= present, f"{kind} missing for {sorted(names - present)}"


def test_typo_in_type_keyword_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "State.schema.json"
    edit(path, lambda d: d["properties"]["step_count"].__setitem__("type", "strin"))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/properties/step_count/type:" in out
    assert "'strin'" in out


def test_example_that_no_longer_validates_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "examples" / "V1ObservationData" / "running.json"
    edit(path, lambda d: d.__setitem__("reward", True))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/reward: True is not of type" in out


def test_invalid_case_that_validates_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "invalid" / "State" / "now-valid.json"
    path.write_text(json.dumps({"episode_id": None, "step_count": 0}))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#: validates against State but must not" in out


def test_dangling_ref_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "WsStepRequest.schema.json"
    edit(path, lambda d: d["properties"]["data"].__setitem__("$ref", "Acton.schema.json"))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/properties/data/$ref: cannot resolve 'Acton.schema.json'" in out


def test_wrong_id_and_title_fail(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "Limits.schema.json"
    edit(path, lambda d: d.update({"$id": "https://example.org/x.json", "title": "Limit"}))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/$id: is 'https://example.org/x.json'" in out
    assert f"{path}#/title: is 'Limit', expected 'Limits'" in out


def test_missing_property_description_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "Limits.schema.json"
    edit(path, lambda d: d["properties"]["max_sessions"].pop("description"))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/properties/max_sessions: missing description" in out


def test_schema_without_corpus_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(tree / "schemas" / "invalid" / "Limits")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "schema Limits has no invalid cases" in out


def test_non_strict_json_example_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "examples" / "ObservationData" / "nan.json"
    path.write_text('{"observation": {}, "reward": NaN, "done": false}')
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#: non-standard literal NaN" in out


def test_duplicate_discriminator_tag_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "schemas" / "ClientMessage.schema.json"
    edit(path, lambda d: d["oneOf"].append({"$ref": "WsResetRequest.schema.json"}))
    rc, out = run(tree, capsys)
    assert rc == 1
    assert f"{path}#/oneOf/5: tag 'reset' already used" in out


TRANSCRIPT = """\
### echo: basics
# connect ws://127.0.0.1:1/ws
>>> {"type": "reset"}
<<< {"type":"observation","data":{"observation":{"metadata":{}},"reward":0.0,"done":false}}
>>> {"type": "step", "data": {"direction": "up"}}
<<< {"type":"error","data":{"message":"m","code":"VALIDATION_ERROR","errors":[{"loc":["direction"]}]}}
>>> {"type": "state", "data": {}}
<<< {"type":"error","data":{"message":"m","code":"VALIDATION_ERROR","errors":[{"loc":["data"]}]}}
>>> {not json
<<< {"type":"error","data":{"message":"Invalid JSON","code":"INVALID_JSON"}}
>>> {"type": "close"}
<<< [connection closed: code=1000 reason='']
"""


def test_extract_transcripts_classifies_by_010_reply(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in extract.SOURCES:
        (source / name).write_text(TRANSCRIPT if name == "transcripts.txt" else "")
    (tmp_path / "schemas").mkdir()
    assert extract.main(["--source", str(source), "--root", str(tmp_path)]) == 0
    written = {str(p.relative_to(tmp_path / "schemas")) for p in tmp_path.rglob("legacy-*.json")}
    assert written == {
        "examples/WsResetRequest/legacy-echo-reset.json",
        "examples/WsObservationResponse/legacy-echo-observation.json",
        "examples/WsStepRequest/legacy-echo-step-env-rejected.json",
        "examples/WsErrorResponse/legacy-echo-error.json",
        "examples/WsErrorResponse/legacy-echo-error-2.json",
        "examples/WsErrorResponse/legacy-echo-error-3.json",
        "invalid/WsStateRequest/legacy-echo-state.json",
        "examples/WsCloseRequest/legacy-echo-close.json",
    }
    index = (tmp_path / "schemas" / "examples" / "LEGACY.md").read_text()
    assert "transcripts.txt:9: `>>> {not json`" in index


def test_extract_transcripts_reports_missing_source(tmp_path: Path) -> None:
    assert extract.main(["--source", str(tmp_path / "nope"), "--root", str(tmp_path)]) == 1
