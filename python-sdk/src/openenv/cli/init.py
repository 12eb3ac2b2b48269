"""`openenv init NAME [--template typed|mcp|sandbox]`: scaffold an environment package.

Contract: creates `DIR/NAME/` (DIR defaults to the current directory) in the layout `openenv
serve`, `validate`, `build` and `push` expect: `__init__.py`, `models.py`, `client.py`,
`server/environment.py`, `server/app.py`, `openenv.yaml`, `pyproject.toml`, `Dockerfile`,
`.dockerignore`, `README.md` and `tests/test_NAME.py`. Templates (package data under
`openenv/cli/templates/`): `typed` — a guess-the-number game with typed action/observation/state;
`mcp` — a notebook served as MCP tools; `sandbox` — Python code execution in a child process with
time and resource limits. The result serves, passes every MUST of the conformance suite and its own
test with no edits. NAME must be a lowercase Python identifier (letters, digits, `_`; 2–64
characters; not a keyword or a module Python or OpenEnv already uses); an existing target is never
overwritten. Exit codes: 0 created, 2 bad name or target exists.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from openenv.cli._ui import EXIT_OK, CliError, Progress, describe

NAME = "init"
HELP = "scaffold an environment package (templates: typed, mcp, sandbox)"
TEMPLATES = {
    "typed": "A guess-the-number game with typed actions, observations and state.",
    "mcp": "A per-episode notebook whose actions are MCP tool calls.",
    "sandbox": "Runs Python snippets in a child interpreter with time and resource limits.",
}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
RESERVED = frozenset({"openenv", "openenv_conformance", "test", "tests", "server", "client", "models", "app"})
SUFFIX = ".tmpl"
DEFAULT_PORT = 8000


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("name", help="package name, e.g. my_env")
    parser.add_argument("--template", choices=sorted(TEMPLATES), default="typed", help="what to start from")
    parser.add_argument("--dir", type=Path, default=Path("."), help="parent directory (default: current)")
    parser.set_defaults(func=run)


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise CliError(
            f"invalid environment name {name!r}: use 2–64 lowercase letters, digits and '_', starting with a letter",
            hint="e.g. `openenv init my_env`",
        )
    if keyword.iskeyword(name) or name in RESERVED or name in sys.stdlib_module_names:
        raise CliError(
            f"invalid environment name {name!r}: it is a Python keyword or an existing module's name",
            hint=f"pick another, e.g. `{name}_env`",
        )


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def template_files(template: str) -> dict[str, str]:
    """Relative output path (with `__name__` placeholders) → template text; template files win over `_common`."""
    root = resources.files("openenv.cli") / "templates"
    found: dict[str, str] = {}
    for layer in ("_common", template):
        stack = [(root / layer, "")]
        while stack:
            node, prefix = stack.pop()
            for child in node.iterdir():
                rel = f"{prefix}{child.name}"
                if child.is_dir():
                    if child.name != "__pycache__":
                        stack.append((child, rel + "/"))
                elif child.name.endswith(SUFFIX):
                    found[rel[: -len(SUFFIX)]] = child.read_text("utf-8")
    return found


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:  # a template bug, not a user error
        raise RuntimeError(f"unfilled placeholder {leftover.group(0)}")
    return text


def output_path(rel: str, name: str) -> str:
    rel = rel.replace("__name__", name)
    return ".dockerignore" if rel == "dockerignore" else rel


def scaffold(name: str, template: str, parent: Path) -> Path:
    """Write the package; returns its directory."""
    check_name(name)
    if template not in TEMPLATES:
        raise CliError(f"unknown template {template!r}", hint=f"use one of {', '.join(sorted(TEMPLATES))}")
    target = parent / name
    if target.exists() or target.is_symlink():
        raise CliError(f"{target} already exists; not overwriting it", hint="pick another name or --dir")
    if not parent.is_dir():
        raise CliError(f"{parent}: not a directory", hint="create it first or pass another --dir")
    from openenv import __version__

    values = {
        "name": name,
        "Name": camel(name),
        "template": template,
        "description": f"{camel(name)}: {TEMPLATES[template]}",
        "openenv_version": __version__,
        "port": str(DEFAULT_PORT),
    }
    files = {output_path(rel, name): render(text, values) for rel, text in template_files(template).items()}
    target.mkdir()
    for rel, text in sorted(files.items()):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def run(args: argparse.Namespace) -> int:
    target = scaffold(args.name, args.template, args.dir)
    Progress.result(
        f"created {target} ({args.template} template, {sum(1 for p in target.rglob('*') if p.is_file())} files)"
    )
    Progress.result(f"next: cd {target} && openenv serve .   (then: openenv validate . ; python -m pytest)")
    return EXIT_OK
