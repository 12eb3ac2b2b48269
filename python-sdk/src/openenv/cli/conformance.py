"""`openenv conformance ...`: the conformance harness's command line (`openenv-conformance`).

Contract: every argument after `conformance` goes to `openenv_conformance.cli.main` unchanged
(`openenv conformance run URL --profile all`); its exit code is returned. Needs the
`openenv-conformance` package (`pip install 'openenv[conformance]'`), else exit 2 with that hint.
"""

from __future__ import annotations

import argparse
from typing import Any

from openenv.cli._ui import CliError

NAME = "conformance"
HELP = "certify a server by URL (`openenv conformance run URL`; see `openenv conformance --help`)"


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, add_help=False, description=HELP)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of openenv-conformance")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from openenv_conformance.cli import main as conformance_main
    except ImportError:
        raise CliError("the conformance harness is not installed", hint="pip install 'openenv[conformance]'") from None
    return int(conformance_main(list(args.args)))
