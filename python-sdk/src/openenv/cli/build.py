"""`openenv build [PATH]`: the environment's Docker image, from its manifest.

Contract: reads `PATH/openenv.yaml` (default `.`), copies the directory into a temporary build
context (without `tests/`, caches and virtualenvs), adds `wheels/` when `--wheels DIR` is given
(the image then installs offline from it) and uses `PATH/Dockerfile`, or a generated one (the
`openenv init` Dockerfile) when there is none. Tags the image `--tag`, else
`openenv/NAME:VERSION` (VERSION from the manifest, else `latest`), builds on the engine at
`$DOCKER_HOST` with the Docker SDK (host networking: no bridge needed) and streams progress.
`--base-image` and `--build-arg KEY=VALUE` are passed as build args. Exit codes: 0 built, 1 the
build failed (the last output lines are shown), 2 no engine / SDK / manifest.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from openenv.cli._docker import engine
from openenv.cli._ui import EXIT_FAILED, EXIT_OK, CliError, Progress, describe
from openenv.cli.project import Project, find_project

NAME = "build"
HELP = "build the environment's Docker image, tagged from its manifest"
IGNORED = ("tests", "__pycache__", ".venv", "venv", ".git", "dist", "build", ".pytest_cache", "*.egg-info", "wheels")
BUILD_TIMEOUT_S = 1800
MAX_CONTEXT_BYTES = 512 * 1024 * 1024


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("path", nargs="?", default=".", type=Path, help="environment directory (default: .)")
    parser.add_argument("--tag", "-t", help="image tag (default openenv/NAME:VERSION)")
    parser.add_argument("--base-image", help="build arg BASE_IMAGE (default: the Dockerfile's)")
    parser.add_argument("--wheels", type=Path, help="directory of wheels to install from, offline (--no-index)")
    parser.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE", help="repeatable")
    parser.add_argument("--no-cache", action="store_true", help="do not use the engine's layer cache")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def default_tag(project: Project) -> str:
    return f"openenv/{project.name.lower()}:{project.version or 'latest'}"


def generated_dockerfile(project: Project) -> str:
    from openenv.cli.init import render, template_files

    text = template_files("typed")["Dockerfile"]
    return render(text, {"name": project.name, "port": str(project.port), "openenv_version": _sdk_version()})


def _sdk_version() -> str:
    from openenv import __version__

    return __version__


def make_context(project: Project, wheels: Path | None, into: Path) -> Path:
    """Copy the environment into `into/NAME`; returns the context directory."""
    context = into / project.name
    shutil.copytree(project.root, context, ignore=shutil.ignore_patterns(*IGNORED), symlinks=False)
    size = sum(p.stat().st_size for p in context.rglob("*") if p.is_file())
    if size > MAX_CONTEXT_BYTES:
        raise CliError(f"{project.root}: build context is {size >> 20} MiB (limit {MAX_CONTEXT_BYTES >> 20} MiB)")
    if not (context / "Dockerfile").is_file():
        (context / "Dockerfile").write_text(generated_dockerfile(project), encoding="utf-8")
    if wheels is not None:
        if not wheels.is_dir() or not any(wheels.glob("*.whl")):
            raise CliError(f"--wheels {wheels}: no *.whl files there", hint="pip wheel/download them into it first")
        shutil.copytree(wheels, context / "wheels")
    return context


def build_args(args: argparse.Namespace) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in args.build_arg:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--build-arg {item!r}: expected KEY=VALUE")
        values[key] = value
    if args.base_image:
        values["BASE_IMAGE"] = args.base_image
    return values


def build_image(
    client: Any, context: Path, tag: str, buildargs: dict[str, str], progress: Progress, *, nocache: bool
) -> tuple[str, list[str]]:
    """Stream a build; returns (image id, output lines). Raises CliError(code 1) on a failed build."""
    from docker.errors import APIError

    lines: list[str] = []
    image_id = ""
    try:
        stream = client.api.build(
            path=str(context),
            tag=tag,
            buildargs=buildargs,
            network_mode="host",
            rm=True,
            forcerm=True,
            nocache=nocache,
            decode=True,
            timeout=BUILD_TIMEOUT_S,
        )
        for chunk in stream:
            if "error" in chunk:
                detail = " ".join(str(chunk["error"]).split())
                tail = " | ".join(line for line in lines[-3:] if line)
                raise CliError(
                    f"docker build of {tag} failed: {detail[:300]}" + (f" (after: {tail[:300]})" if tail else ""),
                    hint="fix the Dockerfile or the package; rebuild with --no-cache if a cached layer is stale",
                    code=EXIT_FAILED,
                )
            text = str(chunk.get("stream", "")).rstrip()
            if text:
                lines.extend(text.splitlines())
                progress.update(f"building {tag}: {lines[-1].strip()}")
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = str(aux["ID"])
    except APIError as exc:
        raise CliError(f"docker build of {tag} failed: {exc.explanation or exc}", code=EXIT_FAILED) from None
    if not image_id:
        image_id = str(client.images.get(tag).id)
    return image_id, lines


def run(args: argparse.Namespace) -> int:
    progress = Progress(quiet=args.quiet)
    project = find_project(args.path)
    tag = args.tag or default_tag(project)
    buildargs = build_args(args)
    with progress.step("connecting to the Docker engine"):
        client = engine()
    with tempfile.TemporaryDirectory(prefix="openenv-build-") as tmp:
        context = make_context(project, args.wheels, Path(tmp))
        generated = not (project.root / "Dockerfile").is_file()
        t0 = time.monotonic()
        with progress.step(f"building {tag}" + (" (generated Dockerfile)" if generated else "")):
            image_id, _ = build_image(client, context, tag, buildargs, progress, nocache=args.no_cache)
    size_mb = int(client.images.get(tag).attrs.get("Size", 0)) >> 20
    Progress.result(f"built {tag} ({image_id[:19]}, {size_mb} MiB, {time.monotonic() - t0:.1f}s)")
    Progress.result(
        f"next: docker run --network host -e PORT={project.port} {tag}   (or: openenv push {args.path} --to ...)"
    )
    return EXIT_OK
