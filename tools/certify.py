"""The main job: start reference servers locally and certify each with the conformance suite.

`python tools/certify.py [--server NAME ...] [--report-dir DIR] [--profile P]` reads each server's
`reference-servers/<NAME>/openenv.yaml`, serves its `app` with `openenv serve` on a free loopback
port, runs every conformance profile against it and writes `DIR/<NAME>/report.json`,
`junit.xml` and `report.html`. Exit code 0 when every server passes all MUST checks, 1 otherwise,
2 when a server cannot be started (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVERS_DIR = REPO_ROOT / "reference-servers"
DEFAULT_SERVERS = ("everything",)
PYTHON_SERVERS = ("everything", "echo_env", "gridworld_env", "python_exec_env")


def certify(name: str, report_dir: Path, profiles: str) -> bool:
    """Serve one reference server, run the suite through its CLI, write its reports; all MUSTs passed?"""
    from openenv.manifest import load_manifest
    from openenv.providers import LocalProcessProvider
    from openenv_conformance.cli import main as conformance

    manifest = load_manifest(SERVERS_DIR / name / "openenv.yaml")
    out = report_dir / name
    server = LocalProcessProvider(str(manifest.app), cwd=str(SERVERS_DIR)).start()
    print(f"== {name}: serving {manifest.app} at {server.base_url}", flush=True)
    try:
        started = time.monotonic()
        code = conformance(["run", server.base_url, "--profile", profiles, "--report-dir", str(out), "--quiet"])
        print(f"== {name}: {time.monotonic() - started:.1f} s, reports in {out}", flush=True)
    finally:
        server.stop()
    if code == 2:
        raise RuntimeError(f"the conformance run could not reach {server.base_url}")
    return code == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="certify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="append", choices=PYTHON_SERVERS, help="repeatable; default: everything")
    parser.add_argument("--all", action="store_true", help="certify every Python reference server")
    parser.add_argument("--report-dir", type=Path, default=REPO_ROOT / "reports")
    parser.add_argument("--profile", default="all")
    args = parser.parse_args(argv)
    names = PYTHON_SERVERS if args.all else tuple(args.server or DEFAULT_SERVERS)
    results = {}
    for name in names:
        try:
            results[name] = certify(name, args.report_dir.resolve(), args.profile)
        except Exception as exc:  # a server that cannot start: one line, no traceback
            print(f"certify: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
    failed = [name for name, ok in results.items() if not ok]
    print("certified: " + ", ".join(f"{n} {'PASS' if ok else 'FAIL'}" for n, ok in results.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
