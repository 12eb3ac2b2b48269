"""tools/check_all.py runs every check script it finds and fails if any fails."""

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


check_all = _load("check_all")


def _script(path: Path, rc: int, text: str) -> None:
    path.write_text(f"import sys\nprint({text!r}, sys.argv[1:])\nsys.exit({rc})\n")


def test_reports_each_check_and_fails_on_one_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    _script(tools / "check_good.py", 0, "fine")
    _script(tools / "check_bad.py", 1, "broken thing")
    _script(tools / "lint_spec.py", 0, "linted")
    rc = check_all.main(["--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "PASS check_good.py" in out
    assert "FAIL check_bad.py (rc=1): broken thing []" in out
    assert "PASS lint_spec.py" in out and "lint_spec.py --check" not in out
    assert "check_all: 2/3 passed" in out


def test_all_passing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    _script(tools / "check_one.py", 0, "ok")
    assert check_all.main(["--root", str(tmp_path)]) == 0
    assert "check_all: 1/1 passed" in capsys.readouterr().out


def test_no_checks_is_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tools").mkdir()
    assert check_all.main(["--root", str(tmp_path)]) == 1
    assert "no checks found" in capsys.readouterr().out
