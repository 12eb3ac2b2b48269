"""`MCPServerEnvironment` against real third-party MCP servers from PyPI, run offline.

`mcp-server-time` and `mcp-server-git` (installed from `requirements/dev.txt`) are spoken to over
stdio; a small official-SDK server over streamable HTTP. Served by our runtime on loopback and
driven by the SDK's client: their tools are step actions, `list_tools` works, failures are tool
errors, and a stdio server process lives exactly as long as its session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openenv.client import GenericSyncEnvClient
from openenv.mcpserver import HttpServer, MCPServerEnvironment, MCPServerStartError, StdioServer, probe_server

from tests.conftest import Serve

BIN = Path(sys.executable).parent
TIME = StdioServer(str(BIN / "mcp-server-time"), ("--local-timezone", "UTC"))
CALL_TIMEOUT_S = 30.0


def _call(client: GenericSyncEnvClient, tool: str, **arguments: Any) -> dict[str, Any]:
    observation: dict[str, Any] = client.step(
        {"type": "call_tool", "tool_name": tool, "arguments": arguments}
    ).observation
    return observation


def _children(command: str) -> list[int]:
    """Pids of this process's children whose command line mentions `command`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and command in cmdline:
            pids.append(int(entry.name))
    return pids


def _wait_for(predicate: Any, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_time_server_tools_are_step_actions(serve: Serve) -> None:
    server = serve(MCPServerEnvironment.for_server(TIME), max_sessions=2)
    with GenericSyncEnvClient(server.base_url, protocol="base", timeout_s=CALL_TIMEOUT_S) as client:
        reset = client.reset()
        assert reset.metadata["server"]["name"] == "mcp-time"
        tools = client.step({"type": "list_tools"}).observation["tools"]
        assert {t["name"] for t in tools} == {"get_current_time", "convert_time"}
        assert all(t["input_schema"]["type"] == "object" for t in tools)

        now = _call(client, "get_current_time", timezone="UTC")
        assert now["error"] is None and now["result"]["data"]["timezone"] == "UTC"
        converted = _call(client, "convert_time", source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo")
        assert converted["result"]["data"]["target"]["datetime"].endswith("T21:00:00+09:00")

        bad_zone = _call(client, "get_current_time", timezone="Mars/Olympus")
        assert bad_zone["error"]["error_type"] == "execution_error"
        assert "Mars/Olympus" in bad_zone["error"]["message"] and bad_zone["result"]["is_error"] is True
        missing = _call(client, "get_current_time")
        assert missing["error"]["error_type"] == "execution_error" and "timezone" in missing["error"]["message"]
        unknown = _call(client, "set_time", timezone="UTC")
        assert unknown["error"] == {"error_type": "tool_not_found", "message": "Unknown tool: 'set_time'"}
        assert client.state().step_count == 6


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    root = tmp_path / "repo"
    root.mkdir()
    for argv in (["init", "-q", "-b", "main"], ["add", "notes.txt"], ["commit", "-q", "-m", "first note"]):
        if argv[0] == "add":
            (root / "notes.txt").write_text("hello\n")
        subprocess.run([git, *argv], cwd=root, env=env, check=True, timeout=30)
    (root / "notes.txt").write_text("hello\nworld\n")
    yield root


def test_git_server_against_a_repository_the_test_creates(serve: Serve, repo: Path) -> None:
    spec = StdioServer(str(BIN / "mcp-server-git"), ("--repository", str(repo)))
    server = serve(MCPServerEnvironment.for_server(spec), max_sessions=2)
    with GenericSyncEnvClient(server.base_url, protocol="base", timeout_s=CALL_TIMEOUT_S) as client:
        client.reset()
        names = {t["name"] for t in client.step({"type": "list_tools"}).observation["tools"]}
        assert {"git_status", "git_log", "git_diff_unstaged", "git_add", "git_commit"} <= names
        status = _call(client, "git_status", repo_path=str(repo))
        assert status["error"] is None and "notes.txt" in status["result"]["data"]
        diff = _call(client, "git_diff_unstaged", repo_path=str(repo))
        assert "+world" in diff["result"]["data"]
        log = _call(client, "git_log", repo_path=str(repo))
        assert "first note" in log["result"]["data"]
        _call(client, "git_add", repo_path=str(repo), files=["notes.txt"])
        commit = _call(client, "git_commit", repo_path=str(repo), message="second note")
        assert commit["error"] is None
        outside = _call(client, "git_status", repo_path="/")
        assert outside["error"]["error_type"] == "execution_error"
    head = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=repo, capture_output=True, text=True, check=True)
    assert head.stdout.strip() == "second note"  # the tool call really ran against the repository


def test_a_stdio_server_process_lives_and_dies_with_its_session(serve: Serve) -> None:
    env = type("TimeNoSpares", (MCPServerEnvironment.for_server(TIME),), {"spares": 0})
    server = serve(env, max_sessions=2)
    assert _children("mcp-server-time") == []
    with GenericSyncEnvClient(server.base_url, protocol="base", timeout_s=CALL_TIMEOUT_S) as first:
        first.reset()
        with GenericSyncEnvClient(server.base_url, protocol="base", timeout_s=CALL_TIMEOUT_S) as second:
            second.reset()
            assert len(_children("mcp-server-time")) == 2  # one process per session
        assert _wait_for(lambda: len(_children("mcp-server-time")) == 1)
        assert _call(first, "get_current_time", timezone="UTC")["error"] is None
    assert _wait_for(lambda: _children("mcp-server-time") == [])


@pytest.fixture(params=["stateful", "stateless"])
def http_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The official SDK's own server as a third-party process: its default (stateful, SSE) mode and
    its stateless mode (JSON responses, no session id), both of which also serve 2026-07-28."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).with_name("http_calc_server.py")
    argv = [sys.executable, str(script), str(port)] + (["stateless"] if request.param == "stateless" else [])
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            ready = _wait_for(lambda: _port_open(port) or proc.poll() is not None, timeout_s=30.0)
            errors.seek(0)
            assert ready and proc.poll() is None, errors.read().decode(errors="replace")
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            proc.wait(10)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(("protocol", "agreed"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_streamable_http_server(serve: Serve, http_server: str, protocol: str, agreed: str) -> None:
    """'auto' speaks 2026-07-28 (`server/discover`, per-request envelope) to a server that serves it;
    'legacy' keeps the `initialize` handshake; the tools and their errors are the same."""
    wrapped = MCPServerEnvironment.for_server(HttpServer(http_server))
    wrapped.protocol = protocol
    server = serve(wrapped, max_sessions=2)
    with GenericSyncEnvClient(server.base_url, timeout_s=CALL_TIMEOUT_S) as client:  # v1 this time
        ready = client.reset()
        assert ready.observation["metadata"]["protocol_version"] == agreed
        assert ready.observation["metadata"]["server"]["name"] == "calc"
        assert {t["name"] for t in client.step({"type": "list_tools"}).observation["tools"]} == {"add", "divide"}
        assert _call(client, "add", a=2, b=40)["result"]["data"] == 42
        failed = _call(client, "divide", a=1, b=0)
        assert failed["error"]["error_type"] == "execution_error" and "divide" in failed["error"]["message"]
        assert _call(client, "add", a="x", b=1)["error"]["error_type"] in ("execution_error", "invalid_args")


def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    with pytest.raises(MCPServerStartError, match="No such file"):
        asyncio.run(probe_server(StdioServer("/nonexistent/mcp-server")))
    crashing = StdioServer(sys.executable, ("-c", "import sys; sys.stderr.write('bad config\\n'); sys.exit(3)"))
    with pytest.raises(MCPServerStartError, match="bad config"):
        asyncio.run(probe_server(crashing))
    silent = StdioServer(sys.executable, ("-c", "import time; time.sleep(30)"))
    started = time.monotonic()
    with pytest.raises(MCPServerStartError, match="did not complete initialize within 1 s"):
        asyncio.run(probe_server(silent, start_timeout_s=1.0))
    assert time.monotonic() - started < 10.0


def test_probed_tools_are_also_the_environments_jsonrpc_tools(serve: Serve) -> None:
    info, tools = asyncio.run(probe_server(TIME))
    assert info["name"] == "mcp-time"
    server = serve(MCPServerEnvironment.for_server(TIME, tools=tools), max_sessions=2)
    with GenericSyncEnvClient(server.base_url, timeout_s=CALL_TIMEOUT_S) as client:
        client.reset()
        assert [t["name"] for t in client.list_tools()] == ["get_current_time", "convert_time"]
        assert client.call_tool("get_current_time", timezone="UTC")["timezone"] == "UTC"
        failed = client.mcp("tools/call", {"name": "get_current_time", "arguments": {"timezone": "Mars/X"}})
        assert failed["isError"] is True  # a failing tool is a result, not a protocol error
        assert "Mars/X" in failed["content"][0]["text"]  # with the wrapped server's own text
        assert client.state().step_count == 0  # JSON-RPC tool calls are not episode steps
    unknown = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}
    reply = httpx.post(f"{server.base_url}/mcp", json=unknown, timeout=CALL_TIMEOUT_S).json()
    assert reply["error"]["code"] == -32602
