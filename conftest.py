"""Repository-wide pytest set-up: in the checkout, the harness reads the sources of truth.

The conformance harness ships copies of `schemas/`, `spec/clause-index.json` and `openapi.yaml` as
package data (`tools/package_data.py`; `make check` and tools/tests/test_package_data.py fail when
they are stale). Tests of the checkout point the harness at the sources themselves through its
override variables, so a change to the spec or a schema is tested before the copies are refreshed;
the installed copies are exercised by tools/tests/test_install.py, which clears these variables.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent

os.environ.setdefault("OPENENV_SCHEMAS_DIR", str(ROOT / "schemas"))
os.environ.setdefault("OPENENV_CLAUSE_INDEX", str(ROOT / "spec" / "clause-index.json"))
os.environ.setdefault("OPENENV_OPENAPI", str(ROOT / "openapi.yaml"))
