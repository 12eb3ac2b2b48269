"""Parse the clauses of ``spec/*.md`` and write the clause index.

Contract:

* A clause is a paragraph or list item whose first line starts with
  ``**OE-<AREA>-<NNN>** *<Title>.* [<side>, <mode>(, untestable)]`` followed by its text; it ends at
  a blank line, a heading, a fenced code block, or the next list item / clause.
* ``parse_spec(spec_dir)`` returns the clauses in page order plus a list of one-line problems
  (``file:line: message``) for clause headers that do not match the format.
* The level of a clause is its strongest RFC 2119 key word (MUST > SHOULD > MAY), counted outside
  code spans. A clause without a key word has level ``None`` (``lint_spec.py`` reports it).
* ``main(argv)`` writes ``spec/clause-index.json`` (a list of objects with ``id``, ``title``,
  ``level``, ``side``, ``mode``, ``page``, ``anchor``, ``testable``) and ``spec/clause-index.md``;
  with ``--check`` it regenerates both in memory and returns 1 when either file differs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

AREAS: tuple[str, ...] = (
    "GEN",
    "WS",
    "V1",
    "ERR",
    "HTTP",
    "MCP",
    "LIM",
    "MAN",
    "SEC",
    "CONF",
    "LEG",
    "RWD",
    "TASK",
    "ROL",
)
SIDES: tuple[str, ...] = ("server", "client", "both", "tool")
MODES: tuple[str, ...] = ("base", "v1", "all")
LEVELS: tuple[str, ...] = ("MUST", "SHOULD", "MAY")
GENERATED_PAGES: frozenset[str] = frozenset({"clause-index.md"})
INDEX_JSON = "clause-index.json"
INDEX_MD = "clause-index.md"

CLAUSE_START_RE = re.compile(r"^(?:[-*+]\s+|\d+\.\s+)?\*\*OE-")
CLAUSE_RE = re.compile(
    r"^(?:[-*+]\s+|\d+\.\s+)?\*\*(?P<id>OE-(?P<area>[A-Z][A-Z0-9]*)-(?P<num>\d{3}))\*\*"
    r"\s+\*(?P<title>[^*]+?)\.\*"
    r"\s+\[(?P<side>[a-z]+),\s*(?P<mode>[a-z0-9]+)(?P<untestable>,\s*untestable)?\]"
    r"\s+(?P<body>\S.*)$"
)
CLAUSE_ID_RE = re.compile(r"\bOE-[A-Z][A-Z0-9]*-\d+\b")
KEYWORD_RE = re.compile(
    r"\b(MUST NOT|MUST|REQUIRED|SHALL NOT|SHALL|SHOULD NOT|SHOULD|NOT RECOMMENDED|RECOMMENDED"
    r"|MAY|OPTIONAL)\b"
)
KEYWORD_LEVEL: dict[str, str] = {
    "MUST NOT": "MUST",
    "MUST": "MUST",
    "REQUIRED": "MUST",
    "SHALL NOT": "MUST",
    "SHALL": "MUST",
    "SHOULD NOT": "SHOULD",
    "SHOULD": "SHOULD",
    "NOT RECOMMENDED": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM_RE = re.compile(r"^(?:[-*+]\s+|\d+\.\s+)")


@dataclass(frozen=True)
class Clause:
    """One parsed clause."""

    id: str
    area: str
    title: str
    side: str
    mode: str
    testable: bool
    level: str | None
    page: str
    line: int
    text: str

    @property
    def anchor(self) -> str:
        return self.id.lower()

    def index_entry(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "level": self.level,
            "side": self.side,
            "mode": self.mode,
            "page": self.page,
            "anchor": self.anchor,
            "testable": self.testable,
        }


@dataclass(frozen=True)
class Block:
    """A run of non-blank lines (paragraph or list item) outside fenced code."""

    start: int  # 1-based line number of the first line
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines)


def strip_code(text: str) -> str:
    """Remove inline code spans, which never carry normative key words."""
    return CODE_SPAN_RE.sub(" ", text)


def clause_level(text: str) -> str | None:
    """Return the strongest RFC 2119 level in ``text`` (code spans excluded), or None."""
    found = {KEYWORD_LEVEL[m.group(1)] for m in KEYWORD_RE.finditer(strip_code(text))}
    for level in LEVELS:
        if level in found:
            return level
    return None


def iter_blocks(lines: Sequence[str]) -> Iterator[Block]:
    """Split Markdown lines into blocks; fenced code, headings and tables are their own blocks."""
    current: list[str] = []
    start = 0
    in_fence = False
    for number, line in enumerate(lines, start=1):
        if FENCE_RE.match(line):
            if current:
                yield Block(start, tuple(current))
                current = []
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        stripped = line.strip()
        starts_new = (
            not stripped or stripped.startswith("#") or stripped.startswith("|") or LIST_ITEM_RE.match(line) is not None
        )
        if starts_new and current:
            yield Block(start, tuple(current))
            current = []
        if not stripped:
            continue
        if stripped.startswith("#") or stripped.startswith("|"):
            yield Block(number, (line,))
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        yield Block(start, tuple(current))


def spec_pages(spec_dir: Path) -> list[Path]:
    """Hand-written spec pages in a stable order."""
    return sorted(p for p in spec_dir.glob("*.md") if p.name not in GENERATED_PAGES)


def parse_page(path: Path) -> tuple[list[Clause], list[Block], list[str]]:
    """Return (clauses, non-clause blocks, problems) of one page."""
    clauses: list[Clause] = []
    others: list[Block] = []
    problems: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for block in iter_blocks(lines):
        first = block.lines[0]
        if not CLAUSE_START_RE.match(first):
            others.append(block)
            continue
        match = CLAUSE_RE.match(block.text)
        where = f"{path.name}:{block.start}"
        if match is None:
            problems.append(
                f"{where}: malformed clause header (expected '**OE-AREA-NNN** *Title.* "
                f"[side, mode] text'): {first.strip()[:80]}"
            )
            continue
        side, mode, area = match["side"], match["mode"], match["area"]
        if area not in AREAS:
            problems.append(f"{where}: {match['id']}: unknown area {area!r} (known: {AREAS})")
        if side not in SIDES:
            problems.append(f"{where}: {match['id']}: unknown side {side!r} (known: {SIDES})")
        if mode not in MODES:
            problems.append(f"{where}: {match['id']}: unknown mode {mode!r} (known: {MODES})")
        clauses.append(
            Clause(
                id=match["id"],
                area=area,
                title=match["title"].strip(),
                side=side,
                mode=mode,
                testable=match["untestable"] is None,
                level=clause_level(match["body"]),
                page=path.name,
                line=block.start,
                text=match["body"],
            )
        )
    return clauses, others, problems


def parse_spec(spec_dir: Path) -> tuple[list[Clause], list[str]]:
    """Parse every hand-written page of ``spec_dir``."""
    clauses: list[Clause] = []
    problems: list[str] = []
    for page in spec_pages(spec_dir):
        page_clauses, _, page_problems = parse_page(page)
        clauses.extend(page_clauses)
        problems.extend(page_problems)
    return clauses, problems


def sort_key(clause: Clause) -> tuple[int, str]:
    area_rank = AREAS.index(clause.area) if clause.area in AREAS else len(AREAS)
    return area_rank, clause.id


def render_json(clauses: Sequence[Clause]) -> str:
    entries = [c.index_entry() for c in sorted(clauses, key=sort_key)]
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def render_markdown(clauses: Sequence[Clause]) -> str:
    ordered = sorted(clauses, key=sort_key)
    counts = {level: sum(1 for c in ordered if c.level == level) for level in LEVELS}
    out = [
        "# Clause index",
        "",
        "Generated by `tools/clause_index.py` from the pages of this directory; do not edit.",
        "The same data is in `clause-index.json`.",
        "",
        f"{len(ordered)} clauses: "
        + ", ".join(f"{counts[level]} `{level}`" for level in LEVELS)
        + f"; {sum(1 for c in ordered if not c.testable)} marked untestable.",
        "",
        "| id | title | level | side | mode | testable | page |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in ordered:
        level = f"`{c.level}`" if c.level else "—"
        out.append(
            f"| [{c.id}]({c.page}#{c.anchor}) | {c.title} | {level} | {c.side} | {c.mode} "
            f"| {'yes' if c.testable else 'no'} | [{c.page}]({c.page}) |"
        )
    return "\n".join(out) + "\n"


def build(spec_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Return {file name: content} for both index files, and parse problems."""
    clauses, problems = parse_spec(spec_dir)
    return {INDEX_JSON: render_json(clauses), INDEX_MD: render_markdown(clauses)}, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--check", action="store_true", help="fail if the index files are stale")
    args = parser.parse_args(argv)
    spec_dir = args.root / "spec"
    if not spec_dir.is_dir():
        print(f"{spec_dir}: no spec directory", file=sys.stderr)
        return 2
    outputs, problems = build(spec_dir)
    for problem in problems:
        print(f"spec/{problem}", file=sys.stderr)
    if problems:
        return 1
    stale = False
    for name, content in outputs.items():
        target = spec_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current == content:
            continue
        if args.check:
            stale = True
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                content.splitlines(keepends=True),
                f"spec/{name} (on disk)",
                f"spec/{name} (regenerated)",
                n=1,
            )
            sys.stderr.writelines(list(diff)[:60])
            print(f"spec/{name}: stale; run tools/clause_index.py", file=sys.stderr)
        else:
            target.write_text(content, encoding="utf-8")
            print(f"wrote spec/{name}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
