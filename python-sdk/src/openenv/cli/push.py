"""`openenv push [PATH] --to hf-space:USER/NAME | registry:HOST/REPO[:TAG]`: publish an environment.

Contract: `hf-space:USER/NAME` makes a Hugging Face Space bundle — the environment's files
(without `tests/` and caches), its `Dockerfile` (or a generated one), optional `wheels/`, and a
`README.md` whose YAML front matter has `title`, `sdk: docker`, `app_port` (the manifest's port)
and `tags` (`openenv`, the manifest's name) above the environment's own README — checked by
`huggingface_hub.SpaceCard`. With `--dry-run` the bundle is written to `--out` (default
`./NAME-space`, never overwritten) and nothing is uploaded; without it the bundle goes up with
`huggingface_hub` (`create_repo(space_sdk="docker")` + `upload_folder`; token from `--token`,
`$HF_TOKEN` or a saved login). `registry:HOST/REPO[:TAG]` tags the image `openenv build` made
(`--image`, default `openenv/NAME:VERSION`) and pushes it with the Docker SDK (engine at
`$DOCKER_HOST`); `--dry-run` only checks the image exists. Exit codes: 0 done, 1 the upload or
push failed, 2 bad destination, missing image, SDK or engine. Not run by this project's tests: the
upload to the Hub and the push to a registry (neither is reachable from them); the bundle,
`--dry-run` and every error path are tested offline.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from openenv.cli._ui import EXIT_FAILED, EXIT_OK, CliError, Progress, describe
from openenv.cli.build import IGNORED, default_tag, generated_dockerfile
from openenv.cli.project import Project, find_project

NAME = "push"
HELP = "publish: a Hugging Face Space bundle (hf-space:USER/NAME) or the image to a registry"
SPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
REGISTRY_REF = re.compile(
    r"^(?P<repo>[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[a-z0-9._/-]{1,200})(?::(?P<tag>\w[\w.-]{0,127}))?$"
)
MAX_README_BYTES = 256 * 1024


def register(sub: Any) -> None:
    parser = sub.add_parser(NAME, help=HELP, description=describe(__doc__))
    parser.add_argument("path", nargs="?", default=".", type=Path, help="environment directory (default: .)")
    parser.add_argument("--to", required=True, metavar="DEST", help="hf-space:USER/NAME or registry:HOST/REPO[:TAG]")
    parser.add_argument("--dry-run", action="store_true", help="write the bundle / check the image; upload nothing")
    parser.add_argument("--out", type=Path, help="bundle folder for --dry-run (default ./NAME-space)")
    parser.add_argument("--wheels", type=Path, help="wheels to put in the bundle (the Space installs from them)")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--token", help="Hugging Face token (default $HF_TOKEN or the saved login)")
    parser.add_argument("--image", help="local image for registry: (default openenv/NAME:VERSION)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def parse_destination(text: str) -> tuple[str, str, str | None]:
    """(`hf-space` | `registry`, repository, tag or None)."""
    kind, sep, rest = text.partition(":")
    if kind == "hf-space" and sep and SPACE_ID.fullmatch(rest):
        return kind, rest, None
    if kind == "registry" and sep:
        match = REGISTRY_REF.fullmatch(rest)
        if match:
            return kind, match.group("repo"), match.group("tag")
    raise CliError(
        f"--to {text!r}: expected hf-space:USER/NAME or registry:HOST/REPO[:TAG]",
        hint="e.g. --to hf-space:alice/my_env or --to registry:127.0.0.1:5000/my_env:0.1.0",
    )


def space_front_matter(project: Project) -> dict[str, Any]:
    description = getattr(project.manifest, "description", None)
    matter: dict[str, Any] = {
        "title": project.name,
        "sdk": "docker",
        "app_port": project.port,
        "tags": ["openenv", project.name],
        "pinned": False,
    }
    if description:
        matter["short_description"] = " ".join(str(description).split())[:60]
    return matter


def space_readme(project: Project) -> str:
    own = project.root / "README.md"
    body = ""
    if own.is_file():
        if own.stat().st_size > MAX_README_BYTES:
            raise CliError(f"{own}: larger than {MAX_README_BYTES} bytes", hint="shorten the README")
        body = own.read_text("utf-8")
        if body.startswith("---\n"):  # replace an existing front matter block
            end = body.find("\n---\n", 4)
            body = body[end + 5 :] if end != -1 else body
    front = yaml.safe_dump(space_front_matter(project), sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body or f'# {project.name}' + chr(10)}"


def check_space_card(readme: str) -> None:
    """Parse the README as the Hub does (when huggingface_hub is installed)."""
    try:
        from huggingface_hub import SpaceCard
    except ImportError:
        return
    card = SpaceCard(readme)
    if card.data.get("sdk") != "docker" or not isinstance(card.data.get("app_port"), int):
        raise RuntimeError(f"generated Space card is wrong: sdk={card.data.get('sdk')!r}")


def write_bundle(project: Project, out: Path, wheels: Path | None) -> list[str]:
    """The Space bundle in `out` (which must not exist or be empty); returns its relative file paths."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CliError(f"{out} already exists and is not empty; not overwriting it", hint="pass another --out")
    readme = space_readme(project)
    check_space_card(readme)
    if out.exists():
        out.rmdir()
    patterns = shutil.ignore_patterns(*IGNORED, f"{project.name}-space")
    target = out.resolve()

    def ignore(directory: str, names: list[str]) -> set[str]:  # never copy the bundle into itself
        return set(patterns(directory, names)) | {n for n in names if (Path(directory) / n).resolve() == target}

    shutil.copytree(project.root, out, ignore=ignore)
    (out / "README.md").write_text(readme, encoding="utf-8")
    if not (out / "Dockerfile").is_file():
        (out / "Dockerfile").write_text(generated_dockerfile(project), encoding="utf-8")
    if wheels is not None:
        if not wheels.is_dir() or not any(wheels.glob("*.whl")):
            raise CliError(f"--wheels {wheels}: no *.whl files there")
        shutil.copytree(wheels, out / "wheels")
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def upload_space(bundle: Path, repo_id: str, token: str | None, private: bool) -> str:
    """Create (if needed) and upload the Space; returns its URL. Not run in this project's tests."""
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError:
        raise CliError("huggingface_hub is not installed", hint="pip install 'openenv[hub]'") from None
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="space", space_sdk="docker", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(bundle), repo_id=repo_id, repo_type="space", commit_message="openenv push")
    except HfHubHTTPError as exc:
        raise CliError(
            f"upload to hf-space:{repo_id} failed: {' '.join(str(exc).split())[:300]}",
            hint="log in (`hf auth login`) or pass --token / set HF_TOKEN with write access",
            code=EXIT_FAILED,
        ) from None
    return str(url)


def push_image(project: Project, repository: str, tag: str | None, args: argparse.Namespace, progress: Progress) -> int:
    from openenv.cli._docker import engine

    local = args.image or default_tag(project)
    tag = tag or project.version or "latest"
    with progress.step("connecting to the Docker engine"):
        client = engine()
    from docker.errors import APIError, ImageNotFound

    try:
        image = client.images.get(local)
    except ImageNotFound:
        raise CliError(
            f"no local image {local}", hint=f"run `openenv build {args.path}` first (or pass --image)"
        ) from None
    if args.dry_run:
        Progress.result(f"dry run: would push {local} ({image.short_id}) as {repository}:{tag}")
        return EXIT_OK
    image.tag(repository, tag)
    with progress.step(f"pushing {repository}:{tag}"):
        try:
            for chunk in client.images.push(repository, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    raise CliError(
                        f"push of {repository}:{tag} failed: {' '.join(str(chunk['error']).split())[:300]}",
                        hint="check the registry address and `docker login` credentials",
                        code=EXIT_FAILED,
                    )
                progress.update(f"pushing {repository}:{tag}: {chunk.get('status', '')} {chunk.get('progress', '')}")
        except APIError as exc:
            raise CliError(f"push of {repository}:{tag} failed: {exc.explanation or exc}", code=EXIT_FAILED) from None
    Progress.result(f"pushed {local} as {repository}:{tag}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    progress = Progress(quiet=args.quiet)
    kind, repository, tag = parse_destination(args.to)
    project = find_project(args.path)
    if kind == "registry":
        return push_image(project, repository, tag, args, progress)
    if args.dry_run:
        out = args.out or Path(f"{project.name}-space")
        with progress.step(f"writing the Space bundle to {out}"):
            files = write_bundle(project, out, args.wheels)
        Progress.result(
            f"dry run: Space bundle for hf-space:{repository} in {out} ({len(files)} files); nothing uploaded"
        )
        return EXIT_OK
    import tempfile

    with tempfile.TemporaryDirectory(prefix="openenv-space-") as tmp:
        bundle = Path(tmp) / "bundle"
        write_bundle(project, bundle, args.wheels)
        with progress.step(f"uploading to hf-space:{repository}"):
            url = upload_space(bundle, repository, args.token, args.private)
    Progress.result(f"pushed {project.name} to {url}")
    return EXIT_OK
