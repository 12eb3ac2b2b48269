"""`openenv serve [PATH | module:app]`: serve an environment on uvicorn.

Contract: the target is a directory with an `openenv.yaml` (its `app` key names the app), the
manifest file itself, or `module:attribute` (importable from the current directory); default `.`.
Binds `--host` (default `$HOST`, else 127.0.0.1 — loopback) and `--port` (default `$PORT`, else
the manifest's `port`, else 8000). `--workers N` runs N processes on one port (the kernel spreads
connections; each worker has its own sessions and `--max-sessions`, so a named session —
`openenv/session/create` + `/ws?session_id=` — needs affinity, e.g. one worker or a sticky proxy).
`--reload` restarts on source changes (for authors; watches the environment directory). Limit
options override the manifest's `limits`. Runs until interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
from typing import Any

from openenv.cli._ui import EXIT_OK, CliError, describe
from openenv.cli.project import load_project_app, resolve_target

MAX_WORKERS = 64

NAME = "serve"
HELP = "serve an environment directory or module:app on uvicorn"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {value}")
    return value


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """The limit overrides `serve` and `validate` share."""
    parser.add_argument("--max-sessions", type=_positive_int, help="most concurrent sessions (per worker)")
    parser.add_argument("--step-timeout", type=_positive_float, metavar="SECONDS", help="longest reset/step")
    parser.add_argument("--idle-timeout", type=_positive_float, metavar="SECONDS", help="longest idle session")
    parser.add_argument("--max-message-bytes", type=_positive_int, metavar="BYTES", help="largest client frame")


def limit_overrides(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "max_sessions": args.max_sessions,
        "step_timeout_s": args.step_timeout,
        "idle_timeout_s": args.idle_timeout,
        "max_message_bytes": args.max_message_bytes,
    }
    return {key: value for key, value in given.items() if value is not None}


def apply_overrides(app: Any, overrides: dict[str, Any]) -> None:
    if overrides:
        try:
            app.config = dataclasses.replace(app.config, **overrides)
        except (TypeError, ValueError) as exc:
            raise CliError(f"invalid limit: {exc}", hint="see `openenv serve --help`") from None


def check_bindable(host: str, port: int) -> None:
    """A one-line error now for an address in use or not ours, rather than uvicorn's log line later."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"--host {host}: cannot resolve it ({exc.strerror})", hint="pass an IP address") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CliError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                hint="pick another --port (or stop what is using it)",
            ) from None


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("target", nargs="?", default=".", help="environment directory, openenv.yaml or module:app")
    parser.add_argument("--host", help="address to bind (default $HOST or 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="port (default $PORT, the manifest's port, or 8000)")
    parser.add_argument("--workers", type=_positive_int, default=1, help=f"processes on the port (1–{MAX_WORKERS})")
    parser.add_argument("--reload", action="store_true", help="restart when the environment's files change")
    add_limit_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from openenv.server import run as run_server
    from openenv.server.runner import run_processes

    if args.workers > MAX_WORKERS:
        raise CliError(f"--workers {args.workers}: at most {MAX_WORKERS}", hint="use fewer workers")
    if args.reload and args.workers > 1:
        raise CliError("--reload and --workers cannot be combined", hint="use --reload alone while developing")
    target, project = resolve_target(args.target)
    host = args.host or os.environ.get("HOST") or "127.0.0.1"
    port = args.port
    if port is None:
        env_port = os.environ.get("PORT")
        try:
            port = int(env_port) if env_port else (project.port if project is not None else 8000)
        except ValueError:
            raise CliError(
                f"PORT={env_port!r} is not a port number", hint="set PORT to 1–65535 or pass --port"
            ) from None
    overrides = limit_overrides(args)
    check_bindable(host, port)
    app = load_project_app(target, project)  # fails here, in one line, before any process starts
    apply_overrides(app, overrides)
    if args.workers == 1 and not args.reload:
        run_server(app, host=host, port=port)
        return EXIT_OK
    import_root = str(project.import_root) if project is not None and project.import_root else os.getcwd()
    reload_dirs = [str(project.root)] if project is not None else [os.getcwd()]
    run_processes(
        target,
        host,
        port,
        workers=args.workers,
        reload=args.reload,
        reload_dirs=reload_dirs,
        sys_path=[import_root],
        config=overrides,
    )
    return EXIT_OK
