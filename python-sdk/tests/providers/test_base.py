"""`wait_until_healthy` and `free_port` against a real HTTP server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openenv.errors import ConnectError
from openenv.providers.base import free_port, wait_until_healthy


class Warming(BaseHTTPRequestHandler):
    """503 for the first `warm_up` requests, then healthy."""

    calls = 0
    warm_up = 3

    def do_GET(self) -> None:
        type(self).calls += 1
        healthy = type(self).calls > type(self).warm_up
        body = b'{"status": "healthy"}' if healthy else b'{"status": "starting"}'
        self.send_response(200 if healthy else 503)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def warming() -> Iterator[str]:
    Warming.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Warming)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_waits_through_a_warm_up(warming: str) -> None:
    wait_until_healthy(warming, 10)
    assert Warming.calls == Warming.warm_up + 1


def test_reports_the_last_answer_on_timeout(warming: str) -> None:
    Warming.warm_up = 10**6
    try:
        with pytest.raises(ConnectError, match=r"not healthy within 0.3 s \(HTTP 503\)"):
            wait_until_healthy(warming, 0.3)
    finally:
        Warming.warm_up = 3


def test_a_dead_server_is_reported_before_the_timeout() -> None:
    with pytest.raises(ConnectError, match="exited before it was ready: gone"):
        wait_until_healthy(f"http://127.0.0.1:{free_port()}", 30, alive=lambda: "gone")


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
