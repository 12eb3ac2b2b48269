"""`openenv wrap-mcp`: a third-party MCP server from PyPI served as an environment by the real CLI."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from openenv.cli.__main__ import main
from openenv.client import GenericSyncEnvClient

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{base_url}/health", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def test_wrap_mcp_serves_mcp_server_time() -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "openenv", "wrap-mcp", "--port", str(port), "--name", "clock", "--max-sessions", "2",
            "--", str(BIN / "mcp-server-time"), "--local-timezone", "UTC"]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _healthy(base_url) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            errors.seek(0)
            assert _healthy(base_url), errors.read().decode(errors="replace")
            with GenericSyncEnvClient(base_url, protocol="base", timeout_s=30) as client:
                client.reset()
                result = client.step(
                    {"type": "call_tool", "tool_name": "get_current_time", "arguments": {"timezone": "UTC"}}
                )
                assert result.observation["result"]["data"]["timezone"] == "UTC"
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{base_url}/metadata") as r:
                assert b'"clock"' in r.read()
        finally:
            proc.terminate()
            proc.wait(15)
        errors.seek(0)
        assert b"wrapping" in errors.read()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["wrap-mcp"], "openenv: no MCP server given — e.g. `openenv wrap-mcp -- uvx mcp-server-time`"),
        (["wrap-mcp", "--url", "ftp://x", "--"], "openenv: --url 'ftp://x' is not an http(s) URL"),
        (["wrap-mcp", "--url", "http://127.0.0.1:9/mcp", "--", "cmd"], "openenv: give either --url or a command"),
        (
            ["wrap-mcp", "--", "/nonexistent/mcp-server"],
            "openenv: MCP server '/nonexistent/mcp-server' failed to start",
        ),
    ],
)
def test_wrap_mcp_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
