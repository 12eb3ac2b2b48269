"""Where the harness finds the project's source-of-truth files.

Contract: `schemas_dir()` and `clause_index_path()` walk up from this package's file to the first
directory holding `schemas/` (the repository root in a checkout). `OPENENV_SCHEMAS_DIR` and
`OPENENV_CLAUSE_INDEX` override the search. `schemas_dir()` raises `FileNotFoundError` with a clear
message when nothing is found; the clause index is optional (`None`).
"""

from __future__ import annotations

import os
from pathlib import Path

_MAX_LEVELS = 8


def _walk_up(relative: str) -> Path | None:
    here = Path(__file__).resolve().parent
    for parent in [here, *here.parents][:_MAX_LEVELS]:
        candidate = parent / relative
        if candidate.exists():
            return candidate
    return None


def schemas_dir() -> Path:
    """The directory with the wire schemas (`*.schema.json`)."""
    env = os.environ.get("OPENENV_SCHEMAS_DIR")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise FileNotFoundError(f"OPENENV_SCHEMAS_DIR={env!r} is not a directory")
        return path
    found = _walk_up("schemas")
    if found is None or not any(found.glob("*.schema.json")):
        raise FileNotFoundError(
            "cannot find the OpenEnv wire schemas: no 'schemas/*.schema.json' above "
            f"{Path(__file__).resolve().parent}; set OPENENV_SCHEMAS_DIR"
        )
    return found


def clause_index_path() -> Path | None:
    """`spec/clause-index.json`, or None when this checkout has none."""
    env = os.environ.get("OPENENV_CLAUSE_INDEX")
    if env:
        return Path(env) if Path(env).is_file() else None
    return _walk_up("spec/clause-index.json")


def repo_file(relative: str) -> Path | None:
    """A file of the checkout (e.g. `openapi.yaml`), or None."""
    return _walk_up(relative)
