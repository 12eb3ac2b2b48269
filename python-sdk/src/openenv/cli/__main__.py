"""`openenv` CLI entry point. Errors are one line on stderr (`openenv: <what>`), exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from openenv import manifest as manifest_cmd


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _serve(args: argparse.Namespace) -> int:
    from openenv.server.runner import load_app, run

    sys.path.insert(0, os.getcwd())
    try:
        app = load_app(args.target)
    except (ImportError, ValueError) as exc:
        raise CliError(f"cannot load {args.target}: {exc}") from None
    overrides = {
        key: value
        for key, value in {
            "max_sessions": args.max_sessions,
            "step_timeout_s": args.step_timeout,
            "idle_timeout_s": args.idle_timeout,
            "max_message_bytes": args.max_message_bytes,
        }.items()
        if value is not None
    }
    if overrides:
        from dataclasses import replace

        try:
            app.config = replace(app.config, **overrides)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    run(app, host=args.host, port=args.port)
    return 0


def _conformance(argv: list[str]) -> int:
    try:
        from openenv_conformance.cli import main as conformance_main
    except ImportError:
        raise CliError("the conformance harness is not installed (pip install openenv-conformance)") from None
    return int(conformance_main(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openenv", description="OpenEnv command line")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve an app made by openenv.server.create_app")
    serve.add_argument("target", help="module:attribute of the app")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--max-sessions", type=int)
    serve.add_argument("--step-timeout", type=float, help="seconds")
    serve.add_argument("--idle-timeout", type=float, help="seconds")
    serve.add_argument("--max-message-bytes", type=int)
    serve.set_defaults(func=_serve)

    validate = sub.add_parser("validate", help="check an openenv.yaml manifest against its schema")
    validate.add_argument("path", nargs="?", default="openenv.yaml")
    validate.set_defaults(func=manifest_cmd.validate_command)

    sub.add_parser(
        "conformance",
        help="certify a server by URL (see `openenv conformance --help`)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["conformance"]:
        try:
            return _conformance(args_list[1:])
        except CliError as exc:
            print(f"openenv: {exc}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"openenv: {exc}", file=sys.stderr)
        return 2
    except manifest_cmd.ManifestError as exc:
        print(f"openenv: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
