"""tools/clause_index.py: the committed index is fresh, --check bites, entries are complete."""

from __future__ import annotations

import importlib
import json
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


clause_index = _load("clause_index")
FIELDS = {"id", "title", "level", "side", "mode", "page", "anchor", "testable"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    return tmp_path


def test_committed_index_is_fresh() -> None:
    assert clause_index.main(["--root", str(ROOT), "--check"]) == 0


def test_index_entries() -> None:
    entries = json.loads((ROOT / "spec" / "clause-index.json").read_text(encoding="utf-8"))
    assert entries, "empty clause index"
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert set(entry) == FIELDS
        assert entry["level"] in ("MUST", "SHOULD", "MAY")
        assert entry["side"] in ("server", "client", "both", "tool")
        assert entry["mode"] in ("base", "v1", "all")
        assert entry["anchor"] == entry["id"].lower()
        assert (ROOT / "spec" / entry["page"]).exists()
        if entry["side"] == "tool":  # client clauses may be testable (client certification)
            assert entry["testable"] is False


def test_check_detects_stale_title(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tree / "spec" / "websocket.md"
    page.write_text(page.read_text(encoding="utf-8").replace("*Binary message.*", "*Binary.*"))
    assert clause_index.main(["--root", str(tree), "--check"]) == 1
    assert "spec/clause-index.json: stale" in capsys.readouterr().err
    assert clause_index.main(["--root", str(tree)]) == 0
    assert clause_index.main(["--root", str(tree), "--check"]) == 0
    entries = json.loads((tree / "spec" / "clause-index.json").read_text(encoding="utf-8"))
    assert {e["id"]: e["title"] for e in entries}["OE-WS-005"] == "Binary"


def test_check_detects_new_clause(tree: Path) -> None:
    page = tree / "spec" / "limits.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n**OE-LIM-099** *Extra.* [client, v1, untestable] A client MAY wait.\n"
    )
    assert clause_index.main(["--root", str(tree), "--check"]) == 1
    clause_index.main(["--root", str(tree)])
    entries = json.loads((tree / "spec" / "clause-index.json").read_text(encoding="utf-8"))
    extra = next(e for e in entries if e["id"] == "OE-LIM-099")
    assert extra == {
        "id": "OE-LIM-099",
        "title": "Extra",
        "level": "MAY",
        "side": "client",
        "mode": "v1",
        "page": "limits.md",
        "anchor": "oe-lim-099",
        "testable": False,
    }


def test_malformed_clause_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tree / "spec" / "limits.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n**OE-LIM-098** no title here MUST.\n")
    assert clause_index.main(["--root", str(tree), "--check"]) == 1
    assert "limits.md:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("A server MAY do x and MUST do y.", "MUST"),
        ("It is RECOMMENDED; it is OPTIONAL.", "SHOULD"),
        ("It is OPTIONAL.", "MAY"),
        ("A server SHALL NOT do x.", "MUST"),
        ("The word `MUST` in code does not count; MAY does.", "MAY"),
        ("No key word here, must is lower case.", None),
    ],
)
def test_clause_level(text: str, level: str | None) -> None:
    assert clause_index.clause_level(text) == level


def test_list_item_clause_and_fences(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text(
        "# X\n\n```\n**OE-GEN-900** *In code.* [server, all] MUST\n```\n\n"
        "* **OE-GEN-901** *Item one.* [server, base] A server MUST a\n  and b.\n"
        "* **OE-GEN-902** *Item two.* [both, v1] A peer SHOULD c.\n"
    )
    clauses, _, problems = clause_index.parse_page(page)
    assert problems == []
    assert [(c.id, c.level, c.mode, c.line) for c in clauses] == [
        ("OE-GEN-901", "MUST", "base", 7),
        ("OE-GEN-902", "SHOULD", "v1", 9),
    ]
    assert clauses[0].text.endswith("and b.")
