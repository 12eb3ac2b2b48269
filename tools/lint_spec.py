"""Lint the normative spec in ``spec/`` (and the links of ``rfcs/`` and ``docs/``).

Contract: ``main(argv) -> int`` with ``--root`` (the repository root, default: this checkout);
prints one line ``path:line: message`` per problem to stdout and returns 1 if there is any, else 0.
Rules (documented for authors in ``spec/README.md``, "Lint rules"):

1. Clause headers are well formed (``**OE-AREA-NNN** *Title.* [side, mode(, untestable)]``), ids
   are unique, and every ``OE-…`` id mentioned in ``spec/``, ``rfcs/`` or ``docs/`` is defined.
2. Every clause contains at least one RFC 2119 key word (so it has exactly one level); clauses that
   bind a tool are marked ``untestable`` (client clauses may be testable: client certification
   plays scripted servers to a client).
3. Inside a clause, lower-case or capitalised "must", "shall", "should", "may" are errors. Outside
   clauses (spec pages only), upper-case key words and non-upper-case "must", "shall", "should"
   are errors. Code spans and fenced code are exempt.
4. Relative Markdown links in ``spec/``, ``rfcs/``, ``docs/`` point to existing files, and their
   ``#anchors`` exist (heading slugs as Python-Markdown's toc makes them, clause anchors, explicit
   ``id``/``name`` attributes).
5. The code column of the registry table in ``spec/errors.md`` equals the enum of
   ``schemas/ErrorCode.schema.json`` (skipped with a message while that file does not exist).
6. ``spec/ambiguities.md`` has one table row for each of the items 1..28 and every row cites at
   least one clause.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clause_index import (
    CLAUSE_ID_RE,
    FENCE_RE,
    KEYWORD_RE,
    Clause,
    parse_page,
    spec_pages,
    strip_code,
)

AMBIGUITY_COUNT = 28
LINKED_DIRS: tuple[str, ...] = ("spec", "rfcs", "docs")
LOWER_IN_CLAUSE_RE = re.compile(r"\b(?!MUST\b|SHALL\b|SHOULD\b|MAY\b)(?i:must|shall|should|may)\b")
LOWER_OUTSIDE_RE = re.compile(r"\b(?!MUST\b|SHALL\b|SHOULD\b)(?i:must|shall|should)\b")
LINK_RE = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXPLICIT_ID_RE = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']|\{\s*#([\w-]+)""")


def slugify(text: str) -> str:
    """Python-Markdown's default toc slug of a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links render as their text
    text = text.replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors_of(path: Path) -> set[str]:
    """Anchors a rendered page will have: headings, clause ids, explicit ids."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = HEADING_RE.match(line)
        if heading:
            slug = slugify(heading.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}_{count}")
        for match in EXPLICIT_ID_RE.finditer(line):
            found.add(match.group(1) or match.group(2))
    if path.parent.name == "spec":
        clauses, _, _ = parse_page(path)
        found.update(c.anchor for c in clauses)
    return found


class Linter:
    """Collects problems over one repository root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = root / "spec"
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.clauses: list[Clause] = []

    def report(self, path: Path, line: int, message: str) -> None:
        self.problems.append(f"{path.relative_to(self.root).as_posix()}:{line}: {message}")

    # Rules 1-3 -------------------------------------------------------------------------------
    def check_clauses_and_wording(self) -> None:
        seen: dict[str, Clause] = {}
        for page in spec_pages(self.spec):
            clauses, others, problems = parse_page(page)
            for problem in problems:
                self.problems.append(f"spec/{problem}")
            for clause in clauses:
                self.clauses.append(clause)
                if clause.id in seen:
                    first = seen[clause.id]
                    self.report(page, clause.line, f"{clause.id}: duplicate id (first at {first.page})")
                else:
                    seen[clause.id] = clause
                if clause.level is None:
                    self.report(page, clause.line, f"{clause.id}: no RFC 2119 key word, no level")
                if clause.side == "tool" and clause.testable:
                    self.report(page, clause.line, f"{clause.id}: a {clause.side} clause needs 'untestable'")
                for word in LOWER_IN_CLAUSE_RE.finditer(strip_code(clause.text)):
                    self.report(
                        page,
                        clause.line,
                        f"{clause.id}: key word {word.group(0)!r} not in upper case inside a "
                        "clause (write it upper case or rephrase)",
                    )
            for block in others:
                text = strip_code(block.text)
                for word in KEYWORD_RE.finditer(text):
                    self.report(
                        page,
                        block.start,
                        f"normative key word {word.group(1)!r} outside a clause",
                    )
                for word in LOWER_OUTSIDE_RE.finditer(text):
                    self.report(
                        page,
                        block.start,
                        f"{word.group(0)!r} outside a clause reads as a requirement; make it a clause or rephrase",
                    )

    def check_id_references(self) -> None:
        defined = {c.id for c in self.clauses}
        for path in self.markdown_files():
            if path.parent == self.spec and path.name == "clause-index.md":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in CLAUSE_ID_RE.finditer(line):
                    ident = match.group(0)
                    if not re.fullmatch(r"OE-[A-Z][A-Z0-9]*-\d{3}", ident):
                        self.report(path, number, f"malformed clause id {ident!r}")
                    elif ident not in defined:
                        self.report(path, number, f"reference to undefined clause {ident}")

    # Rule 4 ----------------------------------------------------------------------------------
    def markdown_files(self) -> list[Path]:
        files: list[Path] = []
        for name in LINKED_DIRS:
            folder = self.root / name
            if folder.is_dir():
                files.extend(sorted(folder.rglob("*.md")))
        return files

    def check_links(self) -> None:
        anchor_cache: dict[Path, set[str]] = {}
        for path in self.markdown_files():
            in_fence = False
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if FENCE_RE.match(line):
                    in_fence = not in_fence
                    continue
                if in_fence:
                    continue
                for match in LINK_RE.finditer(code_free(line)):
                    self.check_link(path, number, match.group(1), anchor_cache)

    def check_link(self, path: Path, line: int, target: str, cache: dict[Path, set[str]]) -> None:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            return  # absolute URL (http:, https:, mailto:)
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path.resolve()
        if not dest.exists():
            self.report(path, line, f"broken link {target!r}: {file_part} does not exist")
            return
        if not anchor or dest.suffix != ".md":
            return
        if dest not in cache:
            cache[dest] = anchors_of(dest)
        if anchor not in cache[dest]:
            self.report(path, line, f"broken anchor {target!r}: no '#{anchor}' in {dest.name}")

    # Rule 5 ----------------------------------------------------------------------------------
    def check_error_registry(self) -> None:
        errors_md = self.spec / "errors.md"
        schema = self.root / "schemas" / "ErrorCode.schema.json"
        if not errors_md.exists():
            self.report(self.spec, 0, "errors.md is missing")
            return
        rows = registry_rows(errors_md)
        if not rows:
            self.report(errors_md, 1, "no registry table (header 'code | level | …') found")
            return
        for line, code, level in rows:
            if level not in ("base", "v1"):
                self.report(errors_md, line, f"{code}: level must be 'base' or 'v1', not {level!r}")
        if not schema.exists():
            self.notes.append("note: schemas/ErrorCode.schema.json does not exist yet; errors.md registry not compared")
            return
        try:
            enum = schema_enum(json.loads(schema.read_text(encoding="utf-8")))
        except (ValueError, KeyError) as exc:
            self.report(schema, 1, f"cannot read the error-code enum: {exc}")
            return
        table = [code for _, code, _ in rows]
        for code in sorted(set(enum) - set(table)):
            self.report(errors_md, rows[0][0], f"{code} is in ErrorCode.schema.json, not in table")
        for line, code, _ in rows:
            if code not in enum:
                self.report(errors_md, line, f"{code} is in the table, not in ErrorCode.schema.json")
            if table.count(code) > 1:
                self.report(errors_md, line, f"{code} appears more than once in the table")

    # Rule 6 ----------------------------------------------------------------------------------
    def check_ambiguities(self) -> None:
        page = self.spec / "ambiguities.md"
        if not page.exists():
            self.report(self.spec, 0, "ambiguities.md is missing")
            return
        defined = {c.id for c in self.clauses}
        rows: dict[int, int] = {}
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            cells = table_cells(line)
            if not cells or not cells[0].isdigit():
                continue
            item = int(cells[0])
            if item in rows:
                self.report(page, number, f"item {item} has two rows (first on line {rows[item]})")
            rows[item] = number
            if not 1 <= item <= AMBIGUITY_COUNT:
                self.report(page, number, f"item {item} is outside 1..{AMBIGUITY_COUNT}")
            cited = CLAUSE_ID_RE.findall(cells[-1])
            if not cited:
                self.report(page, number, f"item {item} cites no clause in its last column")
            for ident in cited:
                if ident not in defined:
                    self.report(page, number, f"item {item} cites undefined clause {ident}")
        for item in range(1, AMBIGUITY_COUNT + 1):
            if item not in rows:
                self.report(page, 1, f"ambiguity item {item} has no row")

    def run(self) -> list[str]:
        if not self.spec.is_dir():
            return [f"{self.spec}: no spec directory"]
        self.check_clauses_and_wording()
        self.check_id_references()
        self.check_links()
        self.check_error_registry()
        self.check_ambiguities()
        return self.problems


def code_free(line: str) -> str:
    """A line with code spans blanked, so links shown as code are not checked."""
    return strip_code(line)


def table_cells(line: str) -> list[str]:
    stripped = line.strip()
    if not stripped.startswith("|"):
        return []
    return [cell.strip() for cell in stripped.strip("|").split("|")]


def registry_rows(errors_md: Path) -> list[tuple[int, str, str]]:
    """(line, code, level) of the table whose header starts with 'code | level'."""
    rows: list[tuple[int, str, str]] = []
    in_table = False
    lines = errors_md.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        cells = table_cells(line)
        if not cells:
            if in_table:
                break
            continue
        if cells[:2] == ["code", "level"]:
            in_table = True
            continue
        if in_table and not set(cells[0]) <= set("-: "):
            rows.append((number, cells[0].strip("`"), cells[1] if len(cells) > 1 else ""))
    return rows


def schema_enum(schema: object) -> list[str]:
    """The string enum of an error-code schema: ``enum``, or ``oneOf``/``anyOf`` of ``const``."""
    if not isinstance(schema, dict):
        raise ValueError("schema is not an object")
    if isinstance(schema.get("enum"), list):
        return [str(v) for v in schema["enum"]]
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and all(isinstance(b, dict) and "const" in b for b in branches):
            return [str(b["const"]) for b in branches]
    defs = schema.get("$defs")
    if isinstance(defs, dict) and "ErrorCode" in defs:
        return schema_enum(defs["ErrorCode"])
    raise KeyError("no 'enum', 'oneOf'/'anyOf' of 'const', or '$defs.ErrorCode'")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lint spec/ (see the module docstring).")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    linter = Linter(args.root.resolve())
    problems = linter.run()
    for note in linter.notes:
        print(note)
    for problem in problems:
        print(problem)
    if problems:
        print(f"lint_spec: {len(problems)} problem(s)")
        return 1
    print(f"lint_spec: ok ({len(linter.clauses)} clauses)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
