"""`openenv` entry point: builds the parser from `SUBCOMMANDS` and turns failures into one line.

Contract: `main(argv) -> int`. A `CliError` prints `openenv: <what> — <next step>` on stderr and
returns its code; argparse usage errors return 2; Ctrl-C returns 130. No traceback reaches the
user for an expected failure. Exit codes are described in `openenv.cli._ui`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from openenv.cli import build, conformance, init, push, serve, validate, wrap_mcp
from openenv.cli._ui import EXIT_INTERRUPTED, EXIT_USAGE, CliError

SUBCOMMANDS = (init, serve, validate, build, push, conformance, wrap_mcp)
"""Every subcommand module, in the order `openenv --help` lists them."""

EPILOG = (
    "exit codes: 0 success; 1 the environment, run or upload failed a check; "
    "2 the command could not run (usage, missing file or dependency, no engine); 130 interrupted"
)


def build_parser() -> argparse.ArgumentParser:
    from openenv import __version__

    parser = argparse.ArgumentParser(
        prog="openenv",
        description="OpenEnv: scaffold, serve, validate, build and publish environments.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"openenv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if args_list[:1] == [conformance.NAME]:  # everything after it belongs to the harness
            args = argparse.Namespace(func=conformance.run, args=args_list[1:])
        else:
            args = parser.parse_args(args_list)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else 0
    try:
        return int(args.func(args))
    except CliError as exc:
        print(exc.line(), file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
