"""`openenv validate [PATH | URL]`: check an environment before it ships.

Contract: for a PATH (a directory with `openenv.yaml`, or the manifest file; default `.`), in order,
stopping at the first failing stage: (1) the manifest against `schemas/Manifest.schema.json`
(errors name the file, the line and the key); (2) the layout: the manifest's `app` module exists
where the manifest says, and `Dockerfile`, `README.md`, `pyproject.toml` are reported when missing
(warnings; `openenv build` generates a Dockerfile); (3) importing the declared app, and the
manifest's `action`/`observation` class names against the environment's types; (4) serving it
(`openenv serve PATH` in a child process on a free loopback port) and running the quick
conformance profile (`core,v1`, plus `mcp` for MCP environments) against it. `--no-serve` stops
after (3). For a URL (`http(s)://…`), only the quick profile. Exit codes: 0 valid, 1 invalid (the
first failure on one line), 2 could not check (bad arguments, harness not installed, server did not
start or is unreachable).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from openenv.cli._ui import EXIT_FAILED, EXIT_OK, CliError, Progress, describe
from openenv.cli.project import Project, find_project, load_project_app

NAME = "validate"
HELP = "check an environment: manifest, layout, imports, then a quick conformance run"
QUICK_PROFILES = ("core", "v1")
RECOMMENDED_FILES = {
    "Dockerfile": "`openenv build` will generate one",
    "README.md": "the Space bundle and the Hub card use it",
    "pyproject.toml": "the environment cannot be pip-installed",
}
QUICK_BUDGET_S = 120.0


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("target", nargs="?", default=".", help="environment directory, openenv.yaml, or server URL")
    parser.add_argument("--no-serve", action="store_true", help="skip serving and the conformance run")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-reply seconds for the conformance run")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def key_line(manifest_path: Path, key: str) -> int | None:
    """1-based line of a top-level key of the manifest, if present."""
    try:
        node = yaml.compose(manifest_path.read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, _ in node.value:
        if getattr(key_node, "value", None) == key:
            return int(key_node.start_mark.line) + 1
    return None


def _where(project: Project, key: str) -> str:
    line = key_line(project.manifest_path, key)
    return f"{project.manifest_path}:{line}: {key}" if line else f"{project.manifest_path}: {key}"


def check_layout(project: Project) -> list[str]:
    """Warnings for recommended files that are missing (the app module was located by find_project)."""
    return [
        f"{project.root / name}: missing ({why})"
        for name, why in RECOMMENDED_FILES.items()
        if not (project.root / name).is_file()
    ]


def _type_names(app: Any) -> tuple[set[str], set[str]]:
    env_class = getattr(app, "env_class", None)
    actions: set[str] = set()
    observations: set[str] = set()
    if env_class is None:
        return actions, observations
    for attribute, bucket in (
        ("action_type", actions),
        ("observation_type", observations),
        ("reset_observation_type", observations),
    ):
        value = getattr(env_class, attribute, None)
        if isinstance(value, type):
            bucket.add(value.__name__)
    for action in getattr(env_class, "action_types", ()) or ():
        if isinstance(action, type):
            actions.add(action.__name__)
    if getattr(app, "is_mcp", False):
        actions |= {"CallToolAction", "ListToolsAction"}
        observations |= {"CallToolObservation", "ListToolsObservation", "Observation"}
    return actions, observations


def check_types(project: Project, app: Any) -> None:
    actions, observations = _type_names(app)
    for key, known in (("action", actions), ("observation", observations)):
        declared = getattr(project.manifest, key, None)
        if declared and known and declared not in known:
            raise CliError(
                f"{_where(project, key)}: {declared!r} is not the environment's {key} type "
                f"(it has {', '.join(sorted(known))})",
                hint=f"set `{key}:` to the class name the environment uses",
                code=EXIT_FAILED,
            )


def quick_profiles(project: Project | None, app: Any | None) -> list[str]:
    profiles = list(QUICK_PROFILES)
    if app is not None and getattr(app, "is_mcp", False):
        profiles.append("mcp")
    return profiles


def certify(url: str, profiles: list[str], timeout_s: float, progress: Progress) -> int:
    try:
        from openenv_conformance import RunOptions, TargetUnreachable, run_suite
        from openenv_conformance.report_files import summary_text
    except ImportError:
        raise CliError(
            "the conformance harness is not installed",
            hint="pip install 'openenv[conformance]' (or pass --no-serve to skip the conformance run)",
        ) from None
    with progress.step(f"certifying {url} (profiles {','.join(profiles)})"):
        try:
            report = run_suite(
                url,
                profiles=profiles,
                options=RunOptions(timeout_s=timeout_s, budget_s=QUICK_BUDGET_S),
                progress=lambda case, n, total: progress.update(f"certifying: {n}/{total} {case.id}"),
            )
        except TargetUnreachable as exc:
            raise CliError(str(exc), hint="start the server first (openenv serve PATH)") from None
    if not report.passed:
        print(summary_text(report))
        blocking = [c for c in report.cases if c.blocking]
        first = blocking[0] if blocking else None
        detail = f": {first.id}: {first.message[:160]}" if first is not None else ""
        raise CliError(
            f"{url}: {len(blocking)} blocking conformance failure(s){detail}",
            hint="run `openenv conformance run URL --report-dir reports` for the full report",
            code=EXIT_FAILED,
        )
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items() if v)
    Progress.result(f"{url}: quick conformance profile passed ({counts})")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    progress = Progress(quiet=args.quiet)
    if not 0 < args.timeout <= 300:
        raise CliError(f"--timeout {args.timeout}: must be in (0, 300] seconds")
    target = str(args.target)
    if target.startswith(("http://", "https://", "ws://", "wss://")):
        return certify(target, list(QUICK_PROFILES), args.timeout, progress)
    with progress.step("checking the manifest"):
        project = find_project(Path(target))
    for warning in check_layout(project):
        print(f"openenv: warning: {warning}", file=sys.stderr)
    if project.app is None:
        runtime = getattr(project.manifest, "runtime", None) or "unknown"
        Progress.result(
            f"{project.manifest_path}: valid manifest for {project.name}; no `app` (runtime {runtime}): "
            "nothing imported or served — certify its running server with `openenv validate URL`"
        )
        return EXIT_OK
    with progress.step(f"importing {project.app}"):
        app = load_project_app(project.app, project)
        check_types(project, app)
    Progress.result(f"{project.manifest_path}: valid manifest for {project.name}; app {project.app} imports")
    if args.no_serve:
        return EXIT_OK
    from openenv.errors import OpenEnvError
    from openenv.providers import LocalProcessProvider

    provider = LocalProcessProvider(str(project.root), ready_timeout_s=60.0)
    with progress.step(f"starting {project.name} and waiting for /health"):
        try:
            server = provider.start()
        except OpenEnvError as exc:
            raise CliError(
                f"{project.name} did not start: {' '.join(str(exc).split())[:300]}",
                hint=f"run `openenv serve {project.root}` to see its output",
            ) from None
    try:
        return certify(server.base_url, quick_profiles(project, app), args.timeout, progress)
    finally:
        server.stop()
