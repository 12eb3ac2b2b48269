"""`openenv build` / `openenv push --to registry:` against a real Docker engine (opt-in: slow, root).

Skipped unless `OPENENV_DOCKER_TESTS=1` (like reference-servers/docker/tests). The outer test runs
`reference-servers/docker/run.sh --exec` with this file: the script starts a private dockerd,
imports the offline base image (`openenv-base:local`, debootstrap) and builds the wheels, then the
inner test runs with `DOCKER_HOST`, `OPENENV_BASE_IMAGE` and `OPENENV_WHEELS` set: it scaffolds
environments, builds them with `openenv build` (one with its Dockerfile, one with a generated
one), runs the image with `--network host`, certifies it with `openenv validate URL`, and checks
that a push to an unreachable registry fails in one line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RUN_SH = REPO / "reference-servers" / "docker" / "run.sh"
INSIDE = "OPENENV_WHEELS" in os.environ and "DOCKER_HOST" in os.environ

pytestmark = pytest.mark.skipif(
    os.environ.get("OPENENV_DOCKER_TESTS") != "1" and not INSIDE,
    reason="set OPENENV_DOCKER_TESTS=1 to build images on a real Docker engine",
)


def _openenv(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "openenv", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    print(f"$ openenv {' '.join(args)}  -> exit {done.returncode}\n{done.stdout}{done.stderr}", flush=True)
    return done


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_and_certify(tag: str) -> None:
    port = _free_port()
    started = _docker("run", "-d", "--network", "host", "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", tag)
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        deadline = time.monotonic() + 90
        while True:
            health = _docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", container).stdout.strip()
            if health == "running healthy":
                break
            assert health.startswith("running") and time.monotonic() < deadline, (
                f"{tag}: {health}\n{_docker('logs', '--tail', '30', container).stdout}"
            )
            time.sleep(0.5)
        certified = _openenv("validate", f"http://127.0.0.1:{port}", "--quiet")
        assert certified.returncode == 0 and "quick conformance profile passed" in certified.stdout
    finally:
        _docker("rm", "-f", container)


@pytest.mark.skipif(INSIDE, reason="the outer half: runs the inner half under run.sh --exec")
def test_build_runs_under_the_local_engine() -> None:
    proc = subprocess.run(
        ["bash", str(RUN_SH), "--exec", sys.executable, "-m", "pytest", __file__, "-q", "-s", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
    assert "3 passed" in proc.stdout


@pytest.mark.skipif(not INSIDE, reason="needs run.sh --exec (DOCKER_HOST, OPENENV_WHEELS)")
def test_build_with_the_scaffolds_dockerfile(tmp_path: Path) -> None:
    assert _openenv("init", "guess_env", "--template", "typed", "--dir", str(tmp_path)).returncode == 0
    built = _openenv(
        "build", str(tmp_path / "guess_env"),
        "--base-image", os.environ["OPENENV_BASE_IMAGE"], "--wheels", os.environ["OPENENV_WHEELS"],
    )  # fmt: skip
    assert built.returncode == 0 and built.stdout.startswith("built openenv/guess_env:0.1.0 ("), built.stderr
    _run_and_certify("openenv/guess_env:0.1.0")


@pytest.mark.skipif(not INSIDE, reason="needs run.sh --exec (DOCKER_HOST, OPENENV_WHEELS)")
def test_build_with_a_generated_dockerfile(tmp_path: Path) -> None:
    assert _openenv("init", "notes_env", "--template", "mcp", "--dir", str(tmp_path)).returncode == 0
    (tmp_path / "notes_env" / "Dockerfile").unlink()
    built = _openenv(
        "build", str(tmp_path / "notes_env"), "--tag", "local/notes:test",
        "--base-image", os.environ["OPENENV_BASE_IMAGE"], "--wheels", os.environ["OPENENV_WHEELS"],
    )  # fmt: skip
    assert built.returncode == 0 and "built local/notes:test" in built.stdout, built.stderr
    assert not (tmp_path / "notes_env" / "Dockerfile").exists()  # generated into the build context only
    _run_and_certify("local/notes:test")


@pytest.mark.skipif(not INSIDE, reason="needs run.sh --exec (DOCKER_HOST, OPENENV_WHEELS)")
def test_push_errors_are_one_line(tmp_path: Path) -> None:
    assert _openenv("init", "push_env", "--dir", str(tmp_path)).returncode == 0
    missing = _openenv("push", str(tmp_path / "push_env"), "--to", "registry:127.0.0.1:9/push_env")
    assert missing.returncode == 2 and "no local image openenv/push_env:0.1.0" in missing.stderr
    built = _openenv(
        "build", str(tmp_path / "push_env"),
        "--base-image", os.environ["OPENENV_BASE_IMAGE"], "--wheels", os.environ["OPENENV_WHEELS"],
    )  # fmt: skip
    assert built.returncode == 0
    dry = _openenv("push", str(tmp_path / "push_env"), "--to", "registry:127.0.0.1:9/push_env", "--dry-run")
    assert dry.returncode == 0 and "would push openenv/push_env:0.1.0" in dry.stdout
    pushed = _openenv("push", str(tmp_path / "push_env"), "--to", "registry:127.0.0.1:9/push_env:v1")
    assert pushed.returncode == 1 and pushed.stderr.count("\n") == 1, pushed.stderr
    assert pushed.stderr.startswith("openenv: push of 127.0.0.1:9/push_env:v1 failed:")
