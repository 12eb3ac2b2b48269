"""Check that the generated pages of the documentation site are fresh.

Contract: ``main(argv) -> int`` runs, in process, the ``--check`` mode of every generator of site
pages — ``rfc_index.py`` (the RFC index in ``rfcs/README.md``), ``wire_reference.py``
(``docs/reference.md``), ``bench_chart.py`` (``docs/benchmark.md`` and its charts) and
``results_matrix.py`` (``docs/results/``, from the committed reports; it runs no certification) —
prints one line per generator and returns 1 when any of them reports a stale or broken page.
``tools/check_all.py`` (``make check``) runs this file like every ``tools/check_*.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_chart
import results_matrix
import rfc_index
import wire_reference

GENERATORS: tuple[tuple[str, Callable[[Sequence[str] | None], int]], ...] = (
    ("rfc_index.py", rfc_index.main),
    ("wire_reference.py", wire_reference.main),
    ("bench_chart.py", bench_chart.main),
    ("results_matrix.py", results_matrix.main),
)


def main(argv: Sequence[str] | None = None) -> int:
    extra = list(argv or [])
    failed = [name for name, run in GENERATORS if run(["--check", *extra]) != 0]
    if failed:
        print(f"check_docs: stale or broken: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"check_docs: {len(GENERATORS)} generators fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
