"""`DockerProvider` failures are one clear `ConnectError` (the engine itself is exercised by the opt-in
Docker run in `reference-servers/docker/run.sh`)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from openenv.errors import ConnectError
from openenv.providers import DockerProvider


def test_no_docker_client_on_path() -> None:
    with pytest.raises(ConnectError, match="'no-such-docker' is not on PATH"):
        DockerProvider("openenv-echo:local", docker="no-such-docker").start()


def engine_reachable(docker: str) -> bool:
    return subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False).returncode == 0


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_a_client_without_an_engine_fails_with_dockers_own_message() -> None:
    if engine_reachable("docker"):
        pytest.skip("a Docker engine is running here: the opt-in Docker run covers this path")
    with pytest.raises(ConnectError, match="docker run openenv-echo:local failed"):
        DockerProvider("openenv-echo:local").start()
