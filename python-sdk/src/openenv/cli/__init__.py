"""The `openenv` command line: `init`, `serve`, `validate`, `build`, `push` and the rest of `SUBCOMMANDS`.

One module per subcommand, each with `NAME`, `HELP`, `register(subparsers)` and `run(args)`;
`__main__.SUBCOMMANDS` lists them in help order (add a new subcommand there). Shared pieces:
`_ui` (errors, exit codes, progress), `project` (finding an environment and its app), `_docker`.
The reference page `docs/cli.md` is generated from the parser by `tools/cli_docs.py`.
"""
