"""The code of the site's guides runs: every ```python block of the guides this suite owns
(:data:`PAGES`; other guides are tested by their owners) is a complete program (it serves its
environment on a free loopback port and plays it), executed here in a fresh interpreter with a
time limit, so a guide cannot drift from the SDK."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "docs" / "guide" / name for name in ("writing-an-environment.md", "using-from-a-trainer.md")]
BLOCK_RE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
TIMEOUT_S = 60


def blocks() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for i, code in enumerate(BLOCK_RE.findall(page.read_text(encoding="utf-8"))):
            out.append((f"{page.name}#{i + 1}", code))
    return out


def test_every_guide_has_code() -> None:
    assert all(BLOCK_RE.search(p.read_text(encoding="utf-8")) for p in PAGES)


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_guide_block_runs(where: str, code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
