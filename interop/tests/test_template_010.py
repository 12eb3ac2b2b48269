"""An environment package made by 0.10's own ``openenv init``, installed with pip against each runtime.

The package (``server/app.py``, ``models.py``, ``client.py``, ``openenv.yaml``, ``pyproject.toml``
exactly as the real ``openenv==0.10.0`` scaffolds them, no edit) is installed by each venv's pip,
offline and without build isolation, into a prefix of its own: in ``.venv-openenv010`` its
``openenv>=0.2.2`` requirement is met by the real 0.10.0, in ``.venv-compat`` by ours. Each install
is served by the package's own ``server`` entry point (its ``main()``: plain ``uvicorn.run``, as its
Dockerfile's ``uvicorn server.app:app``), and ours also by ``openenv serve`` (our runner); each is
driven by the package's own client and certified by the conformance suite. Against 0.10, ours must
pass more cases and fail fewer MUSTs, none that 0.10 passes; its steps/s are printed beside 0.10's
(and guarded only against a gross regression, as in ``test_side_by_side.py``). Under plain uvicorn
one v1 check is the transport's: uvicorn closes a message above its own cap (16 MiB, our
``max_message_bytes``) with 1009 before the app sees it, so no ``MESSAGE_TOO_LARGE`` frame
(``TRANSPORT_CAPPED``); our runner reads the frame header and answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from interop.legacy_server import COMPAT_VENV, LEGACY_VENV, legacy_env
from interop.server_process import ServerProcess, free_port, start_server_process
from interop.side_by_side import Row, Run, certify_server, markdown, shortfalls

ENV_NAME = "demo_env"
STEPS = 2000
PIP_TIMEOUT_S = 180
VENVS = {"openenv010": LEGACY_VENV, "ours": COMPAT_VENV}
LAUNCHES = {"openenv010": "openenv010", "ours": "ours", "ours-runner": "ours"}
"""How each server is launched → the venv whose install it serves (ours-runner: `openenv serve`)."""
TRANSPORT_CAPPED = {"v1.limits.message_too_large"}
SDK_DIR = Path(__file__).resolve().parents[2] / "python-sdk" / "src" / "openenv"

CLIENT_SCRIPT = """
import json, sys
import openenv
from demo_env import DemoAction, DemoEnv
with DemoEnv(base_url=sys.argv[1]).sync() as env:
    first = env.reset()
    result = env.step(DemoAction(message="hello from the template"))
    state = env.state()
print(json.dumps({"openenv": openenv.__file__, "reset_done": first.done,
                  "echoed": result.observation.echoed_message, "length": result.observation.message_length,
                  "reward": result.reward, "step_count": state.step_count}))
"""


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    assert done.returncode == 0, (
        f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for venv in VENVS.values():
        if not (venv / "bin" / "python").exists():
            pytest.skip(f"{venv} missing: run `make venv-openenv010 venv-compat`")
    root = tmp_path_factory.mktemp("template010")
    _run([str(LEGACY_VENV / "bin" / "openenv"), "init", ENV_NAME, "--output-dir", str(root)], legacy_env(), root)
    package = root / ENV_NAME
    assert {"pyproject.toml", "models.py", "client.py", "openenv.yaml"} <= {p.name for p in package.iterdir()}
    assert (package / "server" / "app.py").is_file()
    return package


def _install(package: Path, runtime: str) -> tuple[Path, dict[str, str]]:
    """pip-install the package into a prefix of its own; the environment that serves it from there."""
    venv = VENVS[runtime]
    prefix = package.parent / f"prefix-{runtime}"
    env = legacy_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    out = _run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--no-index",
            "--no-build-isolation",
            "--prefix",
            str(prefix),
            str(package),
        ],
        env,
        package.parent,
    )
    assert "Successfully installed openenv-demo_env-0.1.0" in out, out  # the requirement met by the venv's openenv
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert (site / ENV_NAME / "server" / "app.py").is_file()
    serve_env = env | {"PYTHONPATH": str(site), "PATH": f"{prefix / 'bin'}{os.pathsep}{env['PATH']}"}
    return prefix, serve_env


@pytest.fixture(scope="module")
def installs(scaffold: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    return {runtime: _install(scaffold, runtime) for runtime in VENVS}


@contextlib.contextmanager
def _serve(package: Path, installs: dict[str, tuple[Path, dict[str, str]]], launch: str) -> Iterator[ServerProcess]:
    """Serve the install `launch` names: its own `server` entry point, or `openenv serve` (ours-runner)."""
    prefix, env = installs[LAUNCHES[launch]]
    rundir = package.parent / f"run-{launch}"  # not the scaffold: only the installed copy is importable
    rundir.mkdir(exist_ok=True)
    port = free_port()
    if launch == "ours-runner":
        target = f"{ENV_NAME}.server.app:app"
        argv = [str(COMPAT_VENV / "bin" / "openenv"), "serve", target, "--host", "127.0.0.1", "--port", str(port)]
    else:
        argv = [str(prefix / "bin" / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with start_server_process(argv, port=port, name=f"template-{launch}", env=env, cwd=rundir) as server:
        yield server


@pytest.mark.parametrize("launch", list(LAUNCHES))
def test_its_own_client_drives_the_installed_package(
    launch: str, scaffold: Path, installs: dict[str, tuple[Path, dict[str, str]]]
) -> None:
    runtime = LAUNCHES[launch]
    env = installs[runtime][1]
    with _serve(scaffold, installs, launch) as server:
        argv = [str(VENVS[runtime] / "bin" / "python"), "-c", CLIENT_SCRIPT, server.base_url]
        got = json.loads(_run(argv, env, Path(env["PYTHONPATH"])))
    assert (Path(got["openenv"]).parent == SDK_DIR) is (runtime == "ours")  # which openenv met the requirement
    assert got["echoed"] == "hello from the template" and got["length"] == len("hello from the template")
    assert got["reset_done"] is False and got["step_count"] == 1
    assert got["reward"] == pytest.approx(min(len("hello from the template") * 0.1, 1.0))  # the template's rule


def test_certified_side_by_side(scaffold: Path, installs: dict[str, tuple[Path, dict[str, str]]]) -> None:
    policy = lambda obs, i: {"message": f"m{i}"}  # noqa: E731 — the template's action
    runs: dict[str, Run] = {}
    for launch in LAUNCHES:
        with _serve(scaffold, installs, launch) as server:
            runs[launch] = asyncio.run(certify_server(server.base_url, policy, STEPS))
    rows = [Row(f"0.10 template, {launch}", {"openenv010": runs["openenv010"], "ours": runs[launch]})
            for launch in ("ours", "ours-runner")]  # fmt: skip
    print("\n" + markdown(rows))
    assert shortfalls(runs["openenv010"], runs["ours"], transport_capped=TRANSPORT_CAPPED) == []
    assert shortfalls(runs["openenv010"], runs["ours-runner"]) == []
