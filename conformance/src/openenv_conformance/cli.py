"""Command line: `openenv-conformance run URL [options]` and `openenv-conformance serve-client`.

`serve-client --command "CMD"` certifies a client: it plays scripted servers on loopback, one
scenario at a time, and runs CMD for each (driver protocol: `conformance/README.md`).

Contract: `main(argv) -> int` returns 0 when no MUST failed (outside the expected-failures list)
and no expected failure passed; 1 otherwise; 2 for usage errors and an unreachable target (one
line on stderr, no traceback). Progress lines go to stderr, the summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openenv_conformance.model import CaseResult, Report
from openenv_conformance.registry import PROFILES
from openenv_conformance.report_files import (
    progress_line,
    summary_text,
    write_html,
    write_json,
    write_junit,
)
from openenv_conformance.runner import TargetUnreachable, parse_profiles, run_suite
from openenv_conformance.target import DEFAULT_BUDGET_S, DEFAULT_TIMEOUT_S, RunOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _json_object(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{flag}: not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{flag}: must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openenv-conformance", description="Certify an OpenEnv server by URL.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the conformance checks against URL")
    run.add_argument("url", help="server URL, e.g. http://127.0.0.1:8000")
    run.add_argument(
        "--profile",
        default="all",
        help=f"comma-separated profiles ({','.join(PROFILES)}) or 'all' (default)",
    )
    run.add_argument("--report-dir", type=Path, help="write report.json, junit.xml, report.html")
    run.add_argument("--junit", type=Path, help="JUnit XML output file")
    run.add_argument("--html", type=Path, help="HTML report file")
    run.add_argument("--json", type=Path, help="JSON report file")
    run.add_argument("--expected-failures", type=Path, help="YAML list of known failures")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per-reply seconds")
    run.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="whole-run seconds")
    run.add_argument("--sessions", type=int, default=4, help="N for the concurrency profile")
    run.add_argument("--reset-data", type=lambda t: _json_object(t, "--reset-data"), default={})
    run.add_argument("--action", type=lambda t: _json_object(t, "--action"), default=None)
    run.add_argument("--check", action="append", help="run only this check id (repeatable)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    cl = sub.add_parser("serve-client", help="certify a client: play scripted servers for COMMAND")
    cl.add_argument("--command", dest="client_command", help="the client driver to run for each scenario")
    cl.add_argument("--check", action="append", help="run only this scenario id (repeatable)")
    cl.add_argument("--list", action="store_true", help="list the scenarios and exit")
    cl.add_argument("--persistent", action="store_true", help="start the driver once; plans go to its stdin")
    cl.add_argument("--expected-failures", type=Path, help="YAML list of known failures")
    cl.add_argument("--report-dir", type=Path, help="write report.json, junit.xml, report.html")
    cl.add_argument("--junit", type=Path, help="JUnit XML output file")
    cl.add_argument("--html", type=Path, help="HTML report file")
    cl.add_argument("--json", type=Path, help="JSON report file")
    cl.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def _write(report: Report, args: argparse.Namespace) -> None:
    if args.report_dir:
        write_json(report, args.report_dir / "report.json")
        write_junit(report, args.report_dir / "junit.xml")
        write_html(report, args.report_dir / "report.html")
    if args.json:
        write_json(report, args.json)
    if args.junit:
        write_junit(report, args.junit)
    if args.html:
        write_html(report, args.html)


def serve_client(args: argparse.Namespace) -> int:
    from openenv_conformance.clientcert.runner import run_client_suite
    from openenv_conformance.clientcert.scenarios import SCENARIOS

    if args.list:
        for sc in SCENARIOS.values():
            print(f"{sc.id}  [{', '.join(sc.clauses)}]  {sc.title}")
        return EXIT_OK
    if not args.client_command:
        print('openenv-conformance: serve-client needs --command "CMD" (the client driver)', file=sys.stderr)
        return EXIT_USAGE

    def progress(case: CaseResult, n: int, total: int) -> None:
        if not args.quiet:
            print(progress_line(case, n, total), file=sys.stderr, flush=True)

    try:
        report = run_client_suite(
            args.client_command,
            only=args.check,
            expected_failures=args.expected_failures,
            progress=progress,
            persistent=args.persistent,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"openenv-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _write(report, args)
    print(summary_text(report))
    return EXIT_OK if report.passed else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    if args.command == "serve-client":
        return serve_client(args)
    try:
        profiles = parse_profiles(args.profile)
    except ValueError as exc:
        print(f"openenv-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not (0 < args.timeout <= 300 and 0 < args.budget <= 86_400 and 1 <= args.sessions <= 1000):
        print("openenv-conformance: --timeout, --budget or --sessions out of range", file=sys.stderr)
        return EXIT_USAGE
    options = RunOptions(
        timeout_s=args.timeout,
        budget_s=args.budget,
        seed=args.seed,
        reset_data=args.reset_data,
        action=args.action,
        sessions=args.sessions,
    )

    def progress(case: CaseResult, n: int, total: int) -> None:
        if not args.quiet:
            print(progress_line(case, n, total), file=sys.stderr, flush=True)

    try:
        report = run_suite(
            args.url,
            profiles=profiles,
            options=options,
            expected_failures=args.expected_failures,
            only=args.check,
            progress=progress,
        )
    except TargetUnreachable as exc:
        print(f"openenv-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, FileNotFoundError) as exc:
        print(f"openenv-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _write(report, args)
    print(summary_text(report))
    return EXIT_OK if report.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
