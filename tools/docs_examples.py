"""Code examples of the documentation, as data: what `tools/tests/test_docs_examples.py` runs.

Contract: `examples(page)` returns the fenced code blocks of a Markdown page in order. A block's
info string gives its language and, optionally, `title="FILE"`: a titled block is a file of the
example (written into the example's directory before anything runs); an untitled `python` block is
a snippet run after the files. A block directly preceded by `<!-- docs-test: skip REASON -->` is
returned with `skip` set to REASON (the test reports it; a skip without a reason is an error).
`python -m tools.docs_examples [PAGE ...]` lists what would run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip(?P<reason>[^>]*)-->\s*$")


@dataclass(frozen=True)
class Example:
    """One fenced block of a page."""

    page: Path
    line: int
    language: str
    title: str | None
    code: str
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


class ExampleError(ValueError):
    """A block the test cannot interpret (a skip marker without a reason)."""


def examples(page: Path) -> list[Example]:
    """The fenced code blocks of `page`, in order."""
    text = page.read_text(encoding="utf-8")
    found: list[Example] = []
    for match in _FENCE.finditer(text):
        info = match["info"].strip()
        language = info.split(" ", 1)[0].split("{", 1)[0].lower()
        title_match = _TITLE.search(info)
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = None
        marker = _SKIP.search(before)
        if marker is not None:
            skip = marker["reason"].strip()
            if not skip:
                raise ExampleError(f"{page}:{text.count(chr(10), 0, match.start()) + 1}: skip marker without a reason")
        indent = len(match["indent"])
        body = "\n".join(line[indent:] for line in match["body"].splitlines())
        found.append(
            Example(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                language=language,
                title=title_match["title"] if title_match else None,
                code=body + "\n",
                skip=skip,
            )
        )
    return found


def pages() -> list[Path]:
    """Every Markdown page of the site that holds a Python example."""
    return sorted(p for p in DOCS.rglob("*.md") if any(e.language == "python" for e in examples(p)))


def main(argv: list[str]) -> int:
    for page in [Path(a).resolve() for a in argv] or pages():
        for example in examples(page):
            kind = "file " + example.title if example.title else "snippet"
            state = f"skip ({example.skip})" if example.skip else "run"
            print(f"{example.where}: {example.language} {kind}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
