"""Where the harness finds the project's source-of-truth files.

Contract: the files ship inside the package, under `openenv_conformance/data/` (copied from the
repository's `schemas/`, `spec/clause-index.json` and `openapi.yaml` by `tools/package_data.py`,
checked fresh by `make check`), so an installed harness needs no checkout. Environment variables
only override: `OPENENV_SCHEMAS_DIR` (a directory of `*.schema.json`), `OPENENV_CLAUSE_INDEX` (a
`clause-index.json`) and `OPENENV_OPENAPI` (an OpenAPI document). An override that does not exist is
an error (`FileNotFoundError` naming the variable), never a silent fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The package data directory."""


def _override(variable: str, *, directory: bool) -> Path | None:
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value)
    if not (path.is_dir() if directory else path.is_file()):
        kind = "a directory" if directory else "a file"
        raise FileNotFoundError(f"{variable}={value!r} is not {kind}")
    return path


def schemas_dir() -> Path:
    """The directory with the wire schemas (`*.schema.json`)."""
    found = _override("OPENENV_SCHEMAS_DIR", directory=True) or DATA_DIR / "schemas"
    if not any(found.glob("*.schema.json")):
        raise FileNotFoundError(
            f"no '*.schema.json' in {found}: the package data is missing (reinstall openenv-conformance) "
            "or OPENENV_SCHEMAS_DIR points at the wrong directory"
        )
    return found


def clause_index_path() -> Path:
    """`clause-index.json`: every clause with its level (MUST/SHOULD/MAY)."""
    found = _override("OPENENV_CLAUSE_INDEX", directory=False) or DATA_DIR / "clause-index.json"
    if not found.is_file():
        raise FileNotFoundError(f"{found} is missing: reinstall openenv-conformance or set OPENENV_CLAUSE_INDEX")
    return found


def openapi_path() -> Path:
    """The project's OpenAPI document, for servers that publish no `/openapi.json`."""
    found = _override("OPENENV_OPENAPI", directory=False) or DATA_DIR / "openapi.yaml"
    if not found.is_file():
        raise FileNotFoundError(f"{found} is missing: reinstall openenv-conformance or set OPENENV_OPENAPI")
    return found
