"""`LocalProcessProvider`: each server is a child process running `openenv serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from openenv.providers.base import free_port, wait_until_healthy


@dataclass
class LocalServer:
    """A server process started by `LocalProcessProvider`."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: str

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        if os.path.exists(self.log_path):
            os.unlink(self.log_path)

    def log_tail(self, size: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as log:
                return log.read()[-size:].decode(errors="replace")
        except OSError:
            return ""


@dataclass
class LocalProcessProvider:
    """Start `openenv serve TARGET` (`module:app`) as a child process on a free loopback port.

    Attributes:
        target: the app to serve, `module:attribute`.
        python: the interpreter to run it with.
        host: the address to bind (loopback by default).
        cwd: working directory (put the module's package root here or in `PYTHONPATH`).
        env: extra environment variables.
        args: extra `openenv serve` options, e.g. `["--max-sessions", "8"]`.
        ready_timeout_s: how long to wait for `/health`.
    """

    target: str
    python: str = sys.executable
    host: str = "127.0.0.1"
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    ready_timeout_s: float = 30.0

    def start(self) -> LocalServer:
        port = free_port(self.host)
        fd, log_path = tempfile.mkstemp(prefix="openenv-server-", suffix=".log")
        command = [
            self.python,
            "-m",
            "openenv",
            "serve",
            self.target,
            "--host",
            self.host,
            "--port",
            str(port),
            *self.args,
        ]
        with os.fdopen(fd, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = LocalServer(f"http://{self.host}:{port}", process, log_path)

        def alive() -> str | None:
            code = process.poll()
            return None if code is None else f"exit code {code}: {server.log_tail()}"

        try:
            wait_until_healthy(server.base_url, self.ready_timeout_s, alive=alive)
        except BaseException:
            server.stop()
            raise
        return server
