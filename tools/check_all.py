"""Run every repository check and report one line per check.

Contract: ``main(argv) -> int`` runs, each as its own process from the repository root with the
current interpreter and a time limit: every ``tools/check_*.py`` (except this file) with no
arguments, then ``tools/lint_spec.py`` (a check by nature), ``tools/codegen.py --check``,
``tools/clause_index.py --check``, ``tools/package_data.py --check``, ``tools/cli_docs.py --check``
and ``tools/requirement_sets.py --check`` when those files exist. It prints ``PASS <script>`` or
``FAIL <script> (rc=N): <last output line>`` per check (the full output of a failing check is
printed below its line) and returns 1 if any check failed or none was found, else 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAIN_SCRIPTS = ("lint_spec.py",)  # checks with no write mode
CHECK_FLAG_SCRIPTS = (  # run with --check
    "codegen.py",
    "clause_index.py",
    "package_data.py",
    "cli_docs.py",
    "requirement_sets.py",
)
TIMEOUT_S = 600
MAX_OUTPUT_LINES = 200


def checks(root: Path) -> list[list[str]]:
    """Argument lists (script path first) of every check present under ``root/tools``."""
    tools = root / "tools"
    found = [[str(p)] for p in sorted(tools.glob("check_*.py")) if p.name != Path(__file__).name]
    found += [[str(tools / name)] for name in PLAIN_SCRIPTS if (tools / name).is_file()]
    found += [[str(tools / name), "--check"] for name in CHECK_FLAG_SCRIPTS if (tools / name).is_file()]
    return found


def run_one(cmd: list[str], root: Path) -> tuple[int, str]:
    """Run one check; (exit code, combined output)."""
    try:
        proc = subprocess.run(
            [sys.executable, *cmd],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {TIMEOUT_S}s"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every check in tools/.")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    found = checks(root)
    if not found:
        print(f"FAIL no checks found in {root / 'tools'}")
        return 1
    failed = 0
    for cmd in found:
        label = " ".join([Path(cmd[0]).name, *cmd[1:]])
        rc, output = run_one(cmd, root)
        if rc == 0:
            print(f"PASS {label}")
            continue
        failed += 1
        lines = output.splitlines() or ["(no output)"]
        print(f"FAIL {label} (rc={rc}): {lines[-1]}")
        for line in lines[:MAX_OUTPUT_LINES]:
            print(f"    {line}")
    print(f"check_all: {len(found) - failed}/{len(found)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
