"""The site builds with ``mkdocs build --strict`` offline; a broken clause anchor fails it.

No ``-q``: with it, mkdocs 1.6 does not count warnings in strict mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).parent / "mkdocs"

pytestmark = pytest.mark.skipif(not MKDOCS.exists(), reason=f"{MKDOCS} not installed")


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "-d", str(site)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_site_sources(dest: Path) -> Path:
    for name in ("docs", "spec", "rfcs", "schemas"):
        shutil.copytree(ROOT / name, dest / name)
    (dest / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "mkdocs_hooks.py", dest / "tools")
    shutil.copy(ROOT / "mkdocs.yml", dest)
    return dest


def test_site_builds_strict(tmp_path: Path) -> None:
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "site" / "spec" / "websocket" / "index.html").read_text(encoding="utf-8")
    assert 'id="oe-ws-005"' in page
    assert (tmp_path / "site" / "spec" / "clause-index" / "index.html").exists()
    assert (tmp_path / "site" / "rfcs" / "index.html").exists()
    assert (tmp_path / "site" / "docs" / "design" / "index.html").exists()
    rfc = (tmp_path / "site" / "rfcs" / "0010-request-ids" / "index.html").read_text(encoding="utf-8")
    assert "<td><strong>Status</strong></td>" in rfc  # the RFC header shown as a table
    assert 'href="../../spec/versioning/#oe-v1-021"' in rfc
    nav = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "0015 Session hello and named sessions" in nav  # every RFC added to the navigation
    assert (tmp_path / "site" / "schemas" / "WsStepRequest.schema.json").is_file()


def test_broken_clause_anchor_fails_build(tmp_path: Path) -> None:
    root = copy_site_sources(tmp_path / "repo")
    legacy = root / "spec" / "legacy.md"
    legacy.write_text(legacy.read_text(encoding="utf-8").replace("#oe-ws-005", "#oe-ws-995", 1))
    result = build(root, tmp_path / "site")
    assert result.returncode != 0
    assert "oe-ws-995" in result.stdout + result.stderr
