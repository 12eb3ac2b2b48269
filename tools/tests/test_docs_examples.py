"""Every Python example in `docs/` runs; every environment an example defines is served and certified.

Per page (see `tools/docs_examples.py` for the block conventions): the titled blocks are written
into a temporary directory; each titled Python file is imported there, and every `OpenEnvApp` it
defines is served on loopback and certified with every conformance profile — a failing MUST fails
the test; the titled Python files must pass `mypy --strict`; then the untitled Python snippets run
in order (top-level `await` allowed) against the page's first served app, whose URL replaces the
documented `http://127.0.0.1:8000`.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.docs_examples import ROOT, Example, examples, pages

DOC_URL = "http://127.0.0.1:8000"
PAGES = pages()


def test_the_guide_has_examples() -> None:
    """The collection itself cannot be vacuous: the SDK guide's environment is among the examples."""
    guide = [e for e in examples(ROOT / "docs" / "sdk.md") if e.language == "python"]
    assert any(e.title == "line_env.py" for e in guide)
    assert any(e.title is None for e in guide)


def _import(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _run_snippet(example: Example, module: types.ModuleType, url: str | None) -> None:
    """Run one snippet in the page's module (snippets of a page share it, like a notebook)."""
    code = example.code
    if DOC_URL in code:
        assert url is not None, f"{example.where}: the snippet talks to a server but the page serves none"
        code = code.replace(DOC_URL, url)
    compiled = compile(code, example.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, vars(module))  # the project's own documentation examples
    if asyncio.iscoroutine(result):
        asyncio.run(result)


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    cwd, path = os.getcwd(), list(sys.path)
    before = set(sys.modules)
    os.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            if getattr(module, "__file__", None) and str(tmp_path) in str(module.__file__):
                del sys.modules[name]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run_and_certify(page: Path, in_tmp: Path) -> None:
    from openenv.server import BackgroundServer, OpenEnvApp
    from openenv_conformance.model import Outcome
    from openenv_conformance.runner import run_suite

    blocks = [e for e in examples(page) if not e.skip]
    files = [e for e in blocks if e.title]
    for example in files:
        target = in_tmp / example.title  # type: ignore[operator]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(example.code, encoding="utf-8")
    modules = [in_tmp / e.title for e in files if e.language == "python" and e.title]  # type: ignore[operator]
    if modules:
        typed = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, modules)],
            cwd=in_tmp,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert typed.returncode == 0, f"mypy --strict on {page.name}'s examples:\n{typed.stdout}{typed.stderr}"
    apps: list[Any] = []
    servers: list[Any] = []

    def serve_new(namespace: dict[str, Any]) -> None:
        for value in namespace.values():
            if isinstance(value, OpenEnvApp) and all(value is not a for a in apps):
                apps.append(value)
                server = BackgroundServer(value).start()
                servers.append(server)
                report = run_suite(server.base_url, profiles="all")
                failing = [f"{c.id}: {c.outcome.value} {c.message}" for c in report.failing_musts()]
                assert not failing, f"{page.name}: {value.config.name} fails the suite:\n" + "\n".join(failing)
                passed = sum(1 for c in report.cases if c.outcome is Outcome.PASS)
                assert passed >= 30, f"{page.name}: only {passed} checks passed — not a real certification"

    page_module = types.ModuleType(f"docs_page_{page.stem.replace('-', '_')}")
    sys.modules[page_module.__name__] = page_module
    try:
        for path in modules:
            serve_new(vars(_import(path)))
        for example in blocks:
            if example.language == "python" and example.title is None:
                _run_snippet(example, page_module, servers[0].base_url if servers else None)
                serve_new(vars(page_module))
    finally:
        sys.modules.pop(page_module.__name__, None)
        for server in servers:
            server.stop()
