"""`openenv wrap-mcp [options] -- COMMAND [ARGS...]`: serve an MCP server as an OpenEnv environment.

Contract: everything after `--` is the MCP server's command line (spoken to over stdio); `--url URL`
wraps a streamable-HTTP MCP endpoint instead. The server is started once first, to check that it
completes MCP's `initialize` and to list its tools (a server that cannot start fails here with one
line naming the command and the end of its stderr, exit 2); then every session of the environment
gets its own connection (for stdio: its own server process, ended with the session), its tools are
the step actions (`call_tool` / `list_tools`) and also the environment's JSON-RPC tools (`mcp`
frames, `POST /mcp`), and its failures are tool errors. Binds `--host`
(default 127.0.0.1 — loopback) and `--port` (default 8000); `--name` names the environment (default:
the command's); the limit options are `openenv serve`'s. Runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from openenv.cli._ui import EXIT_OK, CliError, describe
from openenv.cli.serve import add_limit_options, limit_overrides

NAME = "wrap-mcp"
HELP = "serve an MCP server (stdio command after --, or --url) as an environment"
MAX_NAME_CHARS = 64


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 1–65535, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("--url", help="a streamable-HTTP MCP endpoint to wrap instead of a command")
    parser.add_argument("--name", help="environment name (default: from the command or URL)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--start-timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="longest wait for the MCP server's initialize (default 30)",
    )
    add_limit_options(parser)
    parser.add_argument("server", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]: the MCP server to run")
    parser.set_defaults(func=run)


def server_spec(args: argparse.Namespace) -> Any:
    """The `StdioServer` / `HttpServer` the arguments name (CliError when they name none or both)."""
    from openenv.mcpserver import HttpServer, stdio_spec

    argv = list(args.server)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if args.url and argv:
        raise CliError("give either --url or a command after --, not both", hint="see `openenv wrap-mcp --help`")
    if args.url:
        if not args.url.startswith(("http://", "https://")):
            raise CliError(f"--url {args.url!r} is not an http(s) URL", hint="e.g. --url http://127.0.0.1:9000/mcp")
        return HttpServer(args.url)
    if not argv:
        raise CliError("no MCP server given", hint="e.g. `openenv wrap-mcp -- uvx mcp-server-time`")
    return stdio_spec(argv)


def build_app(args: argparse.Namespace) -> Any:
    """Check the server starts, then the app serving it (what `run` serves)."""
    from openenv.mcpserver import MCPServerEnvironment, MCPServerStartError, probe_server
    from openenv.server import create_app

    spec = server_spec(args)
    if args.name is not None and not (0 < len(args.name) <= MAX_NAME_CHARS and args.name.isprintable()):
        raise CliError(f"--name must be 1–{MAX_NAME_CHARS} printable characters", hint="pick a shorter name")
    try:
        info, tools = asyncio.run(probe_server(spec, start_timeout_s=args.start_timeout))
    except MCPServerStartError as exc:
        raise CliError(str(exc), hint="check the command runs on its own and speaks MCP on stdio") from None
    env_class = type(
        "WrappedMCPServer",
        (MCPServerEnvironment.for_server(spec, name=args.name, tools=tools),),
        {"start_timeout_s": args.start_timeout},
    )
    name = args.name or env_class.__mro__[1].__name__
    description = f"MCP server {info.get('name', spec.describe())}: tools {', '.join(t.name for t in tools)}"
    print(f"openenv: wrapping {spec.describe()} ({len(tools)} tools) as {name!r}", file=sys.stderr)
    return create_app(env_class, name=name, description=description[:500], **limit_overrides(args))


def run(args: argparse.Namespace) -> int:
    from openenv.server import run as run_server

    app = build_app(args)
    run_server(app, host=args.host, port=args.port)
    return EXIT_OK
