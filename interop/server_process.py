"""Run an HTTP/WebSocket server as a child process on 127.0.0.1 and wait until it is healthy.

Contract: :func:`start_server_process` starts ``argv`` (optionally under ``taskset -c CPU``) with
stdout discarded and stderr captured in a temporary file, then polls ``GET <base_url>/health``
until it answers 200 or ``startup_timeout_s`` passes. If the process exits or the deadline passes
it is stopped and :class:`ServerStartError` is raised with the exit status and the tail of its
stderr. The returned :class:`ServerProcess` exposes ``base_url``, ``ws_url``, ``pid`` and
``stop()`` (SIGTERM, then SIGKILL after ``stop_timeout_s``) and is a context manager. Nothing
binds anything but 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

HOST = "127.0.0.1"
STDERR_TAIL_BYTES = 4000
POLL_INTERVAL_S = 0.05


class ServerStartError(RuntimeError):
    """The server process died or did not become healthy in time."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(argv: Sequence[str], cpu: int | None) -> list[str]:
    """Prefix ``argv`` with ``taskset -c cpu`` when ``cpu`` is given."""
    if cpu is None:
        return list(argv)
    if cpu < 0 or cpu >= (os.cpu_count() or 1):
        raise ValueError(f"cpu {cpu} is not in 0..{(os.cpu_count() or 1) - 1}")
    taskset = shutil.which("taskset")
    if taskset is None:
        raise ServerStartError("taskset is not installed; cannot pin the server to a CPU")
    return [taskset, "-c", str(cpu), *argv]


class ServerProcess:
    """A started server child process; see the module docstring."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, stderr_file: IO[bytes], name: str) -> None:
        self.proc = proc
        self.port = port
        self.name = name
        self._stderr_file = stderr_file

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/ws"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, limit: int = STDERR_TAIL_BYTES) -> str:
        """The last ``limit`` bytes the server wrote to stderr (decoded leniently)."""
        path = Path(self._stderr_file.name)
        try:
            data = path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def stop(self, stop_timeout_s: float = 5.0) -> int | None:
        """Terminate the server (SIGKILL after ``stop_timeout_s``); return its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(stop_timeout_s)
        if not self._stderr_file.closed:
            self._stderr_file.close()
            Path(self._stderr_file.name).unlink(missing_ok=True)
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ServerProcess {self.name} pid={self.pid} {self.base_url}>"


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthy(base_url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(f"{base_url}/health", timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_server_process(
    argv_for_port: Sequence[str],
    *,
    port: int,
    name: str,
    env: Mapping[str, str],
    cwd: Path | None = None,
    cpu: int | None = None,
    startup_timeout_s: float = 30.0,
) -> ServerProcess:
    """Start ``argv_for_port`` (which must listen on ``port``) and wait for ``/health``."""
    if startup_timeout_s <= 0:
        raise ValueError("startup_timeout_s must be positive")
    stderr_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - owned by ServerProcess
        prefix=f"{name}-", suffix=".stderr", delete=False
    )
    proc = subprocess.Popen(
        pinned(argv_for_port, cpu),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr_file,
    )
    server = ServerProcess(proc, port, stderr_file, name)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            status = proc.returncode
            tail = server.stderr_tail()
            server.stop()
            raise ServerStartError(f"{name} exited with status {status} before becoming healthy; stderr tail:\n{tail}")
        if _healthy(server.base_url):
            return server
        time.sleep(POLL_INTERVAL_S)
    tail = server.stderr_tail()
    server.stop()
    raise ServerStartError(f"{name} did not answer GET /health within {startup_timeout_s:.0f} s; stderr tail:\n{tail}")
