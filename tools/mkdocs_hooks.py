"""MkDocs hooks: build the site with the repository's own layout.

Contract: the site mirrors the repository paths, so a relative link that works on a checkout
(``docs/index.md`` → ``../spec/README.md``) works unchanged on the site.

* ``on_files`` re-roots the pages of ``docs_dir`` (``docs/``) under ``docs/``, adds every file of
  ``spec/`` and ``rfcs/`` under the same names, and generates a root ``index.md`` that points to
  the documentation and the specification.
* ``on_page_markdown`` gives every clause of a ``spec/`` page its anchor ``oe-<area>-<nnn>`` by
  putting an empty ``<a id>`` in front of the clause identifier.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MOUNTED_DIRS: tuple[str, ...] = ("spec", "rfcs")
CLAUSE_RE = re.compile(r"^(\s*(?:[-*+]\s+|\d+\.\s+)?)\*\*(OE-[A-Z][A-Z0-9]*-\d{3})\*\*", re.M)
ROOT_INDEX = """# OpenEnv

* [Documentation](docs/index.md)
* [Specification of Protocol 1](spec/README.md)
* [Clause index](spec/clause-index.md)
* [RFCs](rfcs/README.md)
"""


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    docs_dir = Path(config.docs_dir).resolve()
    root = docs_dir.parent
    prefix = docs_dir.name
    mirrored: list[File] = []
    for old in list(files):
        if old.src_dir is None or Path(old.src_dir).resolve() != docs_dir:
            mirrored.append(old)  # theme assets and other generated files stay as they are
            continue
        mirrored.append(
            File(
                f"{prefix}/{old.src_uri}",
                src_dir=str(root),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    for folder in MOUNTED_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                mirrored.append(
                    File(
                        path.relative_to(root).as_posix(),
                        src_dir=str(root),
                        dest_dir=config.site_dir,
                        use_directory_urls=config.use_directory_urls,
                    )
                )
    mirrored.append(File.generated(config, "index.md", content=ROOT_INDEX))
    return Files(mirrored)


def on_page_markdown(markdown: str, *, page: Page, **_: Any) -> str:
    if not page.file.src_uri.startswith("spec/"):
        return markdown
    return CLAUSE_RE.sub(lambda m: f'{m.group(1)}<a id="{m.group(2).lower()}"></a>**{m.group(2)}**', markdown)
