"""Both packages declare exactly what their code imports: every third-party module imported at
module level is a required dependency, every import inside a function is a required dependency or
in an extra, and every required dependency is imported (or is used by name, listed in
`USED_BY_NAME` with the reason)."""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "python-sdk": ("openenv", ROOT / "python-sdk" / "src" / "openenv"),
    "conformance": ("openenv_conformance", ROOT / "conformance" / "src" / "openenv_conformance"),
}
USED_BY_NAME = {
    "uvloop": "uvicorn's `loop='uvloop'` option (server/runner.py)",
    "httptools": "uvicorn's `http='httptools'` option (server/runner.py)",
    "schemathesis": "run as `python -m schemathesis.cli` (checks/http.py)",
}
FIRST_PARTY = {"openenv", "openenv_conformance"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports(source_dir: Path) -> tuple[set[str], set[str]]:
    """(top-level modules imported at module level, those imported inside functions)."""
    eager: set[str] = set()
    lazy: set[str] = set()
    for path in source_dir.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        inside: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inside |= {id(child) for child in ast.walk(node)}
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names = [first.value]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY:
                    continue
                (lazy if id(node) in inside else eager).add(top)
    return eager, lazy


def _distributions(modules: set[str]) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    return {mapping[m][0].lower().replace("_", "-") for m in modules if m in mapping} | {
        m.replace("_", "-") for m in modules if m not in mapping
    }


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_declared_dependencies_match_imports(folder: str) -> None:
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    required = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for reqs in project.get("optional-dependencies", {}).values() for r in reqs}
    eager, lazy = _imports(PACKAGES[folder][1])
    eager_dists, lazy_dists = _distributions(eager), _distributions(lazy)
    assert eager_dists <= required, f"imported at module level but not required: {eager_dists - required}"
    # an extra's own dependencies (e.g. `requests` of `docker`) may be imported next to it
    extras_closure = set(extras)
    for extra in extras:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            extras_closure |= {_name(r) for r in importlib.metadata.requires(extra) or [] if "extra ==" not in r}
    assert lazy_dists <= required | extras_closure, (
        f"imported but not declared: {lazy_dists - required - extras_closure}"
    )
    by_name = {name for name in USED_BY_NAME if name in required}
    unused = required - eager_dists - lazy_dists - by_name
    assert not unused, f"required but never imported: {unused}"
