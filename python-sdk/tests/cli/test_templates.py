"""`openenv init` templates, end to end with no edits: scaffold, lint, the package's own test,
`openenv validate`, and the whole conformance suite (every profile) with no MUST failing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openenv.cli.__main__ import main
from openenv.providers import LocalProcessProvider
from openenv_conformance import RunOptions, run_suite
from openenv_conformance.model import Outcome
from openenv_conformance.registry import PROFILES

REPO = Path(__file__).resolve().parents[3]
RUFF = Path(sys.executable).with_name("ruff")
TEMPLATES = ("typed", "mcp", "sandbox")


def _run(args: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("template", TEMPLATES)
def test_scaffold_serves_passes_its_test_and_every_must(template: str, tmp_path: Path) -> None:
    name = f"{template}_env"
    assert main(["init", name, "--template", template, "--dir", str(tmp_path)]) == 0
    package = tmp_path / name
    expected = {
        "__init__.py", "models.py", "client.py", "server/__init__.py", "server/environment.py", "server/app.py",
        "openenv.yaml", "pyproject.toml", "Dockerfile", ".dockerignore", "README.md", f"tests/test_{name}.py",
    }  # fmt: skip
    assert {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()} == expected
    assert not re.search(r"\{\{\w+\}\}", "".join(p.read_text() for p in package.rglob("*") if p.is_file()))

    lint = _run([str(RUFF), "check", "."], package)  # with the package's own ruff settings
    assert lint.returncode == 0, lint.stdout + lint.stderr

    own = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore"], package)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout[-3000:] + own.stderr[-2000:]

    validate = _run([sys.executable, "-m", "openenv", "validate", str(package), "--quiet"], tmp_path)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "quick conformance profile passed" in validate.stdout

    server = LocalProcessProvider(str(package)).start()
    try:
        # perf_steps: the performance profile is INFORMATIONAL only; fewer samples, the same MUSTs
        options = RunOptions(seed=3, timeout_s=10, perf_steps=40)
        report = run_suite(server.base_url, profiles="all", options=options)
    finally:
        server.stop()
    bad = [
        f"{c.id}: {c.outcome.value} {c.message[:200]}"
        for c in report.cases
        if c.outcome in (Outcome.FAIL, Outcome.ERROR)
    ]
    assert report.passed and not bad, "\n".join(bad)
    assert report.profiles == list(PROFILES) and report.counts()["PASS"] >= 70


def test_init_refuses_bad_names_and_existing_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad, why in [
        ("My-Env", "use 2–64 lowercase letters"),
        ("9lives", "use 2–64 lowercase letters"),
        ("x", "use 2–64 lowercase letters"),
        ("a" * 65, "use 2–64 lowercase letters"),
        ("class", "keyword or an existing module"),
        ("asyncio", "keyword or an existing module"),
        ("openenv", "keyword or an existing module"),
    ]:
        assert main(["init", bad, "--dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"openenv: invalid environment name {bad!r}") and why in err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert main(["init", "taken", "--dir", str(tmp_path)]) == 2
    assert "already exists; not overwriting it" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert main(["init", "fine_env", "--dir", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["init", "fine_env", "--template", "nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_scaffolds_type_check_strictly(tmp_path: Path) -> None:
    for template in TEMPLATES:
        assert main(["init", f"{template}_typed", "--template", template, "--dir", str(tmp_path)]) == 0
    mypy = Path(sys.executable).with_name("mypy")
    packages = [f"{template}_typed" for template in TEMPLATES]
    checked = _run([str(mypy), "--strict", "--ignore-missing-imports", "--no-incremental", *packages], tmp_path)
    assert checked.returncode == 0 and "Success: no issues found" in checked.stdout, checked.stdout
