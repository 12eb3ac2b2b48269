"""tools/cli_docs.py: docs/cli.md is fresh, generated from the parser, and --check bites."""

from __future__ import annotations

import importlib
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


cli_docs = _load("cli_docs")


def test_committed_page_is_fresh() -> None:
    assert cli_docs.main(["--root", str(ROOT), "--check"]) == 0


def test_every_subcommand_and_option_is_on_the_page() -> None:
    from openenv.cli.__main__ import SUBCOMMANDS, build_parser

    text = cli_docs.render()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for module in SUBCOMMANDS:
        assert f"## openenv {module.NAME}\n" in text
        for action in sub.choices[module.NAME]._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in text, (module.NAME, flag)
    assert "`--workers` | `WORKERS` | `1` |" in text


def test_check_reports_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("# old\n")
    assert cli_docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert "docs/cli.md is stale" in capsys.readouterr().out
    assert cli_docs.main(["--root", str(tmp_path)]) == 0
    assert cli_docs.main(["--root", str(tmp_path), "--check"]) == 0
