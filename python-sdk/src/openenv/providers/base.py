"""The provider protocol and the readiness probe shared by every provider."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from openenv.errors import ConnectError


class ServerHandle(Protocol):
    """A running server started by a provider."""

    base_url: str

    def stop(self) -> None:
        """Stop the server and release what it holds; idempotent."""


class Provider(Protocol):
    """Starts servers on demand."""

    def start(self) -> ServerHandle:
        """Start one server and return once its `/health` answers."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base_url: str, timeout_s: float, *, alive: Callable[[], str | None] = lambda: None) -> None:
    """Poll `GET /health` until it answers 200 `{"status": "healthy"}`.

    Args:
        base_url: the server's URL.
        timeout_s: give up after this long.
        alive: returns None while the server process lives, else why it died.

    Raises:
        ConnectError: the server died or did not become healthy in time.
    """
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            death = alive()
            if death is not None:
                raise ConnectError(f"the server at {base_url} exited before it was ready: {death}")
            try:
                response = http.get(f"{base_url}/health")
                if response.status_code == 200 and response.json().get("status") == "healthy":
                    return
                last = f"HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                last = type(exc).__name__
            time.sleep(0.05)
    raise ConnectError(f"the server at {base_url} was not healthy within {timeout_s:g} s ({last})")
