"""Locating an environment on disk from its `openenv.yaml`, and importing its app.

Contract: `find_project(path)` accepts a directory holding `openenv.yaml` or the manifest file
itself, validates the manifest (`openenv.manifest.load_manifest`: errors name file, line and key)
and works out where the manifest's `app` (`module:attribute`) is importable from: the directory
itself when it holds the module's top-level package or file, otherwise its parent when the
directory IS that package (the `openenv init` layout, `NAME/openenv.yaml` with `app:
NAME.server.app:app`). `load_project_app` imports the app with that directory first on `sys.path`.
`resolve_target` tells a path from a `module:attribute` target.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openenv.cli._ui import EXIT_FAILED, CliError
from openenv.manifest import ManifestError, load_manifest

MANIFEST_NAME = "openenv.yaml"


@dataclass(frozen=True)
class Project:
    """An environment directory and its validated manifest."""

    root: Path
    manifest_path: Path
    manifest: Any
    app: str | None
    """`module:attribute` of the ASGI app; None when the manifest names none (e.g. a Node.js server)."""
    import_root: Path | None

    @property
    def name(self) -> str:
        return str(self.manifest.name)

    @property
    def version(self) -> str | None:
        version = getattr(self.manifest, "version", None)
        return str(version) if version is not None else None

    @property
    def port(self) -> int:
        return int(getattr(self.manifest, "port", None) or 8000)


def manifest_path_of(path: Path) -> Path:
    if path.is_dir():
        found = path / MANIFEST_NAME
        if not found.is_file():
            raise CliError(
                f"{path}: no {MANIFEST_NAME} here",
                hint="pass an environment directory (create one with `openenv init NAME`)",
            )
        return found
    if path.is_file():
        return path
    raise CliError(f"{path}: no such file or directory", hint="check the path")


def find_project(path: Path) -> Project:
    manifest_path = manifest_path_of(path).resolve()
    try:
        manifest = load_manifest(manifest_path)
    except ManifestError as exc:
        raise CliError(str(exc), hint="fix the manifest (see docs/cli.md)", code=EXIT_FAILED) from None
    root = manifest_path.parent
    app = getattr(manifest, "app", None)
    if not app:  # a server in another language, or one started some other way
        return Project(root, manifest_path, manifest, None, None)
    top = str(app).split(":", 1)[0].split(".", 1)[0]
    if (root / top).is_dir() or (root / f"{top}.py").is_file():
        import_root = root
    elif root.name == top and (root / "__init__.py").is_file():
        import_root = root.parent
    else:
        raise CliError(
            f"{manifest_path}: app: module {top!r} is neither in {root} nor the directory itself",
            hint="make `app` start with the package name (the directory's name) or a module in it",
            code=EXIT_FAILED,
        )
    return Project(root, manifest_path, manifest, str(app), import_root)


def require_app(project: Project) -> tuple[str, Path]:
    """The project's app import path and import root; a one-line error when the manifest names none."""
    if project.app is None or project.import_root is None:
        raise CliError(
            f"{project.manifest_path}: app: missing, so there is nothing to import or serve",
            hint=f"name the ASGI app, e.g. `app: {project.name}.server.app:app`",
            code=EXIT_FAILED,
        )
    return project.app, project.import_root


def resolve_target(target: str) -> tuple[str, Project | None]:
    """(`module:attribute`, the project when `target` is a path)."""
    candidate = Path(target)
    if ":" in target and not candidate.exists():
        return target, None
    project = find_project(candidate)
    return require_app(project)[0], project


def load_project_app(target: str, project: Project | None) -> Any:
    """Import and return the `OpenEnvApp` named by `target` (with the project's import root on sys.path)."""
    from openenv.server import load_app

    entry = str(require_app(project)[1]) if project is not None else str(Path.cwd())
    if entry not in sys.path:
        sys.path.insert(0, entry)
    try:
        return load_app(target)
    except (ImportError, ValueError) as exc:
        where = f"{project.manifest_path}: app: " if project is not None else ""
        raise CliError(
            f"{where}cannot load {target}: {type(exc).__name__}: {exc}",
            hint="check the module path and that the app is made by openenv.server.create_app",
            code=EXIT_FAILED if project is not None else 2,
        ) from None
    except Exception as exc:  # the environment's own module failed while importing
        raise CliError(
            f"importing {target} failed: {type(exc).__name__}: {exc}",
            hint=f"run `python -c 'import {target.split(':')[0]}'` to see the traceback",
            code=EXIT_FAILED,
        ) from None
