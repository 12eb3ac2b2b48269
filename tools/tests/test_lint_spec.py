"""Each rule of tools/lint_spec.py passes on the real tree and bites on a broken copy."""

from __future__ import annotations

import importlib
import json
import re
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


lint_spec = _load("lint_spec")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of everything the linter reads."""
    for name in ("spec", "rfcs", "docs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "schemas").mkdir()
    for schema in (ROOT / "schemas").glob("*.schema.json"):  # docs/reference.md links every schema
        shutil.copy(schema, tmp_path / "schemas" / schema.name)
    source = ROOT / "schemas" / "ErrorCode.schema.json"
    if source.exists():
        shutil.copy(source, tmp_path / "schemas" / source.name)
    else:  # the registry as the spec states it, so the comparison still runs
        codes = [row[1] for row in lint_spec.registry_rows(ROOT / "spec" / "errors.md")]
        (tmp_path / "schemas" / source.name).write_text(json.dumps({"enum": codes}))
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {path.name}: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = lint_spec.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_real_tree_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(ROOT, capsys)
    assert rc == 0, out


def test_copy_is_clean(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(tree, capsys)
    assert rc == 0, out


def test_duplicate_id(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/websocket.md", "**OE-WS-006**", "**OE-WS-005**")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "spec/websocket.md:" in out and "OE-WS-005: duplicate id" in out


def test_malformed_header(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "*Registry only.* [server, all]", "*Registry only.*")
    rc, out = run(tree, capsys)
    assert rc == 1
    assert "spec/errors.md:" in out and "malformed clause header" in out


def test_unknown_mode(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "*Registry only.* [server, all]", "*Registry only.* [server, v9]")
    rc, out = run(tree, capsys)
    assert rc == 1 and "unknown mode 'v9'" in out


def test_clause_without_keyword(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(
        tree / "spec/errors.md",
        "A server MUST use only codes of the registry",
        "A server uses only codes of the registry",
    )
    rc, out = run(tree, capsys)
    assert rc == 1 and "OE-ERR-001: no RFC 2119 key word" in out


def test_lower_case_keyword_in_clause(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "A server MUST use only codes", "A server must use only codes")
    rc, out = run(tree, capsys)
    assert rc == 1 and "OE-ERR-001: key word 'must' not in upper case" in out


def test_lower_case_may_in_clause(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "and only\nat the levels", "and may only\nat the levels")
    rc, out = run(tree, capsys)
    assert rc == 1 and "key word 'may' not in upper case" in out


def test_keyword_outside_clause(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "# Errors\n", "# Errors\n\nA server MUST be nice.\n")
    rc, out = run(tree, capsys)
    assert rc == 1 and "normative key word 'MUST' outside a clause" in out


def test_lower_must_outside_clause(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "# Errors\n", "# Errors\n\nA server should be nice.\n")
    rc, out = run(tree, capsys)
    assert rc == 1 and "'should' outside a clause" in out


def test_keyword_in_code_span_is_exempt(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "# Errors\n", "# Errors\n\nThe word `MUST` and `should`.\n")
    rc, out = run(tree, capsys)
    assert rc == 0, out


def test_undefined_reference(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "docs/index.md", "# OpenEnv\n", "# OpenEnv\n\nSee OE-WS-999.\n")
    rc, out = run(tree, capsys)
    assert rc == 1 and "docs/index.md:3: reference to undefined clause OE-WS-999" in out


def test_tool_clause_needs_untestable(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Client clauses may be testable (client certification); tool clauses never are."""
    edit(
        tree / "spec/conformance.md",
        "[tool, all, untestable] Every check MUST end",
        "[tool, all] Every check MUST end",
    )
    rc, out = run(tree, capsys)
    assert rc == 1 and "OE-CONF-001: a tool clause needs 'untestable'" in out


def test_broken_link(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/README.md", "(overview.md)", "(overvue.md)")
    rc, out = run(tree, capsys)
    assert rc == 1 and "broken link 'overvue.md'" in out


def test_broken_anchor(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/legacy.md", "websocket.md#oe-ws-005", "websocket.md#oe-ws-995")
    rc, out = run(tree, capsys)
    assert rc == 1 and "broken anchor 'websocket.md#oe-ws-995'" in out


def test_heading_anchor_resolves(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(
        tree / "docs/index.md",
        "# OpenEnv\n",
        "# OpenEnv\n\n[x](../spec/websocket.md#client-frames)\n",
    )
    assert run(tree, capsys)[0] == 0
    edit(tree / "docs/index.md", "#client-frames", "#client-frame")
    rc, out = run(tree, capsys)
    assert rc == 1 and "no '#client-frame' in websocket.md" in out


def test_error_table_missing_code(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "spec/errors.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("| `IDLE_TIMEOUT`")))
    rc, out = run(tree, capsys)
    assert rc == 1 and "IDLE_TIMEOUT is in ErrorCode.schema.json, not in table" in out


def test_error_table_extra_code(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(
        tree / "spec/errors.md",
        "| `IDLE_TIMEOUT` |",
        "| `SLEEPY` | v1 | x | open | — |\n| `IDLE_TIMEOUT` |",
    )
    rc, out = run(tree, capsys)
    assert rc == 1 and "SLEEPY is in the table, not in ErrorCode.schema.json" in out


def test_error_table_bad_level(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/errors.md", "| `IDLE_TIMEOUT` | v1 |", "| `IDLE_TIMEOUT` | v2 |")
    rc, out = run(tree, capsys)
    assert rc == 1 and "IDLE_TIMEOUT: level must be 'base' or 'v1'" in out


def test_missing_schema_is_skipped(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "schemas/ErrorCode.schema.json").unlink()
    reference = tree / "docs/reference.md"  # generated; it links every schema file
    reference.write_text(
        re.sub(r"\[([^\]]*)\]\(\.\./schemas/ErrorCode\.schema\.json\)", r"\1", reference.read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    rc, out = run(tree, capsys)
    assert rc == 0 and "does not exist yet" in out


def test_ambiguity_row_missing(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "spec/ambiguities.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("| 17 |")))
    rc, out = run(tree, capsys)
    assert rc == 1 and "ambiguity item 17 has no row" in out


def test_ambiguity_cites_undefined(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(tree / "spec/ambiguities.md", "| [OE-MCP-016](mcp.md#oe-mcp-016) |", "| OE-MCP-099 |")
    rc, out = run(tree, capsys)
    assert rc == 1 and "item 18 cites undefined clause OE-MCP-099" in out


def test_schema_enum_forms() -> None:
    assert lint_spec.schema_enum({"enum": ["A"]}) == ["A"]
    assert lint_spec.schema_enum({"oneOf": [{"const": "A"}, {"const": "B"}]}) == ["A", "B"]
    with pytest.raises(KeyError):
        lint_spec.schema_enum({"type": "string"})


def test_slugify_matches_toc() -> None:
    assert lint_spec.slugify("The `/ws` channel") == "the-ws-channel"
    assert lint_spec.slugify("7. Capacity before the upgrade") == "7-capacity-before-the-upgrade"
