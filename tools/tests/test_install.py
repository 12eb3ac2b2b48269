"""The packages as a new user gets them: wheels built from this checkout, installed into a fresh
virtual environment in a temporary directory outside it (the repository not on `sys.path`, no
`OPENENV_*` variables), then: the CLI, the harness's package data, the SDK quickstart of
`docs/sdk.md` served and certified, and an `openenv init` scaffold validated.

Needs the package index (the wheels' dependencies are installed with pip, pinned to `.venv`'s
versions, so pip's cache usually serves them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 600


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "OPENENV_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def _run(args: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}: rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _titled_files(section: str) -> dict[str, str]:
    """The section's fenced blocks with `title="FILE"` (the files of its example)."""
    return dict(re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', section, re.S))


def _python_block(section: str) -> str:
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no untitled python block"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv's bin directory, a work directory outside the checkout)."""
    root = tmp_path_factory.mktemp("outside")
    assert REPO not in root.parents
    dist = root / "dist"
    for package in ("python-sdk", "conformance"):
        _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", dist, REPO / package], REPO)
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["openenv", "openenv_conformance"]
    constraints = root / "constraints.txt"
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    constraints.write_text(freeze.stdout)
    _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", root / "venv"], root)
    bin_dir = root / "venv" / "bin"
    pip = [bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", constraints]
    _run([*pip, *wheels], root, timeout=PIP_TIMEOUT_S)
    work = root / "work"
    work.mkdir()
    return bin_dir, work


def test_wheels_carry_their_data_and_exact_dependencies(installed: tuple[Path, Path]) -> None:
    dist = installed[1].parent / "dist"
    sdk = zipfile.ZipFile(next(dist.glob("openenv-*.whl")))
    harness = zipfile.ZipFile(next(dist.glob("openenv_conformance-*.whl")))
    assert "openenv/cli/templates/sandbox/server/environment.py.tmpl" in sdk.namelist()
    names = harness.namelist()
    assert "openenv_conformance/data/clause-index.json" in names and "openenv_conformance/data/openapi.yaml" in names
    assert len([n for n in names if n.startswith("openenv_conformance/data/schemas/")]) == len(
        list((REPO / "schemas").glob("*.schema.json"))
    )
    metadata = sdk.read(next(n for n in sdk.namelist() if n.endswith("METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not any(r.startswith("starlette") for r in requires)
    assert "uvicorn<0.55,>=0.54" in requires
    from openenv import __version__

    assert f"Version: {__version__}" in metadata


def test_cli_and_harness_data_come_from_the_venv(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    from openenv import __version__

    assert _run([bin_dir / "openenv", "--version"], work).stdout.strip() == f"openenv {__version__}"
    probe = _run(
        [bin_dir / "python", "-c", "import sys, openenv, openenv_conformance.paths as p; "
         "print(openenv.__file__); print(p.schemas_dir()); print(p.clause_index_path()); print(p.openapi_path()); "
         "print(any('work/main' in e or e == '' for e in sys.path[1:]))"],
        work,
    )  # fmt: skip
    lines = probe.stdout.split()
    venv = str(bin_dir.parent)
    assert all(line.startswith(venv) for line in lines[:4]), lines
    assert str(REPO) not in probe.stdout


def test_quickstart_serves_and_certifies(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    guide = (REPO / "docs" / "sdk.md").read_text()
    quick = work / "quickstart"
    quick.mkdir()
    files = _titled_files(_section(guide, "Writing an environment"))
    assert "line_env.py" in files, sorted(files)
    for name, text in files.items():
        (quick / name).write_text(text)
    port = _free_port()
    log = (quick / "server.log").open("wb")
    server = subprocess.Popen(
        [str(bin_dir / "openenv"), "serve", ".", "--port", str(port)],  # the manifest names the app
        cwd=quick, env=_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            alive = server.poll() is None and time.monotonic() < deadline
            assert alive, f"the quickstart server did not start: {(quick / 'server.log').read_text()[-2000:]}"
            time.sleep(0.2)
        client = _python_block(_section(guide, "Using an environment")).replace(
            "http://127.0.0.1:8000", f"http://127.0.0.1:{port}"
        )
        script = "import asyncio\n\n\nasync def main() -> None:\n" + textwrap.indent(client, "    ")
        (quick / "use_env.py").write_text(script + "\n\nasyncio.run(main())\n")
        used = _run([bin_dir / "python", "use_env.py"], quick, timeout=60)
        assert "'position': 2" in used.stdout and "step_count=1" in used.stdout, used.stdout
        certified = _run(
            [
                bin_dir / "openenv-conformance",
                "run",
                f"http://127.0.0.1:{port}",
                "--profile",
                "core,v1,http",
                "--quiet",
            ],
            quick,
        )
        assert "RESULT: PASSED" in certified.stdout
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_scaffold_validates_from_the_installed_templates(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    _run([bin_dir / "openenv", "init", "demo_env", "--template", "mcp"], work)
    checked = _run([bin_dir / "openenv", "validate", "demo_env", "--quiet"], work, timeout=180)
    assert "quick conformance profile passed" in checked.stdout
