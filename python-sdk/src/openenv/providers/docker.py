"""`DockerProvider`: each server is a container of an environment image.

Containers run with `--network host` (bridge networking and `-p` are not available on every
engine) and get `HOST`/`PORT` so the server binds the chosen loopback port (`port`, or a free one).
Every failure is one `ConnectError`: no client on PATH, an engine that is not reachable, `docker
run` failing or taking longer than `run_timeout_s`, the container exiting or not answering
`/health` within `ready_timeout_s` (the container is removed then).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field

from openenv.errors import ConnectError
from openenv.providers.base import free_port, wait_until_healthy


@dataclass
class DockerServer:
    """A container started by `DockerProvider`."""

    base_url: str
    container: str
    docker: str

    def stop(self) -> None:
        """Remove the container (force); idempotent."""
        subprocess.run([self.docker, "rm", "-f", self.container], capture_output=True, timeout=30, check=False)

    def logs(self) -> str:
        out = subprocess.run(
            [self.docker, "logs", "--tail", "50", self.container],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return (out.stdout + out.stderr).decode(errors="replace")


@dataclass
class DockerProvider:
    """Run `image` with `docker run -d --network host`, one container per `start()`."""

    image: str
    host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    docker: str = "docker"
    ready_timeout_s: float = 60.0
    extra_args: list[str] = field(default_factory=list)
    port: int | None = None
    run_timeout_s: float = 120.0

    def start(self) -> DockerServer:
        docker = shutil.which(self.docker)
        if docker is None:
            raise ConnectError(f"'{self.docker}' is not on PATH; DockerProvider needs a Docker client and engine")
        port = self.port if self.port is not None else free_port(self.host)
        name = f"openenv-{uuid.uuid4().hex[:12]}"
        variables = {**self.env, "HOST": self.host, "PORT": str(port)}
        command = [
            docker,
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "--network",
            "host",
            *self.extra_args,
        ]
        for key, value in variables.items():
            command += ["-e", f"{key}={value}"]
        command.append(self.image)
        try:
            result = subprocess.run(command, capture_output=True, timeout=self.run_timeout_s, check=False)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(subprocess.TimeoutExpired):  # the engine may be the one hanging
                subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=30, check=False)
            raise ConnectError(f"docker run {self.image} did not finish within {self.run_timeout_s:g} s") from None
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            if "Cannot connect to the Docker daemon" in message or "Is the docker daemon running" in message:
                message = f"the Docker engine is not reachable ({message})"
            raise ConnectError(f"docker run {self.image} failed: {message}")
        server = DockerServer(f"http://{self.host}:{port}", name, docker)

        def alive() -> str | None:
            state = subprocess.run(
                [docker, "inspect", "-f", "{{.State.Running}}", name],
                capture_output=True,
                timeout=30,
                check=False,
            )
            return None if state.stdout.strip() == b"true" else f"container stopped: {server.logs()}"

        try:
            wait_until_healthy(server.base_url, self.ready_timeout_s, alive=alive)
        except BaseException:
            server.stop()
            raise
        return server
