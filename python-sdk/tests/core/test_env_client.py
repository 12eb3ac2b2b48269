"""`EnvClient.from_docker_image`: start a server, connect, stop it on close (0.10's API).

The providers here start real servers (`openenv serve` child processes on loopback): a 0.10-style
container provider (`start_container` / `wait_for_ready` / `stop_container`, as authors wrote for
0.10) and our `LocalProcessProvider`. Our `DockerProvider` (the default) is checked for its errors
here, and against a real Docker engine by the opt-in test at the end (`OPENENV_DOCKER_TESTS=1`: it
builds the echo reference server's image under `reference-servers/docker/run.sh --exec`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from openenv.core import GenericEnvClient
from openenv.core.mcp_client import MCPToolClient
from openenv.errors import ConnectError
from openenv.providers import LocalProcessProvider
from openenv.providers.base import free_port, wait_until_healthy
from openenv.providers.local import LocalServer

SDK_ROOT = Path(__file__).resolve().parents[2]
REPO = SDK_ROOT.parent
RUN_SH = REPO / "reference-servers" / "docker" / "run.sh"
INSIDE = "OPENENV_WHEELS" in os.environ and "DOCKER_HOST" in os.environ
STEP = {"direction": "right", "amount": 2}


class ContainerProvider010:
    """A provider written the 0.10 way; its "container" is a real `openenv serve` process."""

    def __init__(self, *, dead: bool = False) -> None:
        self.dead = dead
        self.calls: list[str] = []
        self.server: LocalServer | None = None
        self.starting = threading.Event()
        self.stopped = threading.Event()

    def start_container(self, image: str, port: int | None = None, env_vars: dict[str, str] | None = None) -> str:
        self.calls.append(f"start {image} {sorted(env_vars or {})}")
        self.starting.set()
        if self.dead:
            return f"http://127.0.0.1:{free_port()}"  # nothing listens there
        self.server = LocalProcessProvider("tests.apps:line_app", cwd=str(SDK_ROOT)).start()
        return self.server.base_url

    def wait_for_ready(self, base_url: str, timeout_s: float = 30.0) -> None:
        self.calls.append("wait")
        wait_until_healthy(base_url, 1.0 if self.dead else timeout_s)

    def stop_container(self) -> None:
        self.calls.append("stop")
        if self.server is not None:
            self.server.stop()
        self.stopped.set()


def _down(base_url: str) -> bool:
    try:
        httpx.get(f"{base_url}/health", trust_env=False, timeout=2)
    except httpx.ConnectError:
        return True
    return False


async def test_await_starts_connects_and_close_stops_a_010_provider() -> None:
    provider = ContainerProvider010()
    handle = GenericEnvClient.from_docker_image("openenv/line:local", provider, env_vars={"A": "1"})
    assert provider.calls == [] and "not started" in repr(handle)  # lazy, as in 0.10
    env = await handle
    assert provider.calls == ["start openenv/line:local ['A']", "wait"]
    await env.reset(seed=1)
    assert (await env.step(STEP)).observation["position"] == 2
    assert env.base_url is not None
    await env.close()
    assert provider.calls[-1] == "stop" and _down(env.base_url)
    await env.close()  # idempotent: the server is stopped once
    assert provider.calls.count("stop") == 1
    with pytest.raises(RuntimeError, match="already awaited"):
        await handle  # a coroutine resolves once
    with pytest.raises(RuntimeError, match="already used"):
        handle.sync()


def test_sync_resolves_to_a_connected_blocking_client_with_our_provider() -> None:
    provider = LocalProcessProvider("tests.apps:line_app", cwd=str(SDK_ROOT))
    with GenericEnvClient.from_docker_image("ignored", provider=provider).sync() as env:
        env.reset()
        assert env.step(STEP).observation["position"] == 2
        base_url = env.async_client.base_url
        assert base_url is not None and not _down(base_url)
    assert _down(base_url)


def test_a_failed_start_stops_what_had_started() -> None:
    provider = ContainerProvider010(dead=True)
    with pytest.raises(ConnectError, match="not healthy within 1 s"):
        GenericEnvClient.from_docker_image("openenv/line:local", provider).sync()
    assert provider.calls[1:] == ["wait", "stop"]

    class Refusing(GenericEnvClient):
        def __init__(self, base_url: str, provider: Any) -> None:
            raise ValueError("this client cannot be built")

    provider = ContainerProvider010()
    with pytest.raises(ValueError, match="cannot be built"):
        asyncio.run(Refusing.from_docker_image("openenv/line:local", provider))  # type: ignore[arg-type]
    assert provider.calls[-1] == "stop" and provider.server is not None and _down(provider.server.base_url)


async def test_a_cancelled_start_stops_the_server_once_it_is_up() -> None:
    provider = ContainerProvider010()
    waiter = asyncio.ensure_future(GenericEnvClient.from_docker_image("openenv/line:local", provider))
    assert await asyncio.to_thread(provider.starting.wait, 30)  # the start-up is under way in its thread
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await asyncio.to_thread(provider.stopped.wait, 30)  # stopped once the thread has started it
    assert provider.calls[-1] == "stop" and provider.server is not None and _down(provider.server.base_url)


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="needs an image name"):
        GenericEnvClient.from_docker_image("")
    with pytest.raises(TypeError, match=r"unknown options \['gpus'\]"):
        GenericEnvClient.from_docker_image("img", gpus="all").sync()
    with pytest.raises(TypeError, match="object is not a provider"):
        GenericEnvClient.from_docker_image("img", provider=object()).sync()
    with pytest.raises(TypeError, match="go to the provider's constructor"):
        GenericEnvClient.from_docker_image("img", LocalProcessProvider("tests.apps:line_app"), port=1).sync()
    handle = GenericEnvClient.from_docker_image("img")
    handle.close()  # a handle never resolved starts nothing
    with pytest.raises(RuntimeError, match="already used"):
        handle.sync()


def test_without_a_docker_client_the_error_says_so() -> None:
    with pytest.raises(ConnectError, match="'no-such-docker' is not on PATH"):
        GenericEnvClient.from_docker_image("openenv/echo_env:local", docker="no-such-docker").sync()


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_an_unreachable_engine_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    socket_path = Path(tempfile.gettempdir()) / f"no-engine-{uuid.uuid4().hex}.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    with pytest.raises(ConnectError, match="the Docker engine is not reachable"):
        GenericEnvClient.from_docker_image("openenv/echo_env:local", ready_timeout_s=5).sync()


# -- a real engine (opt-in) ------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.skipif(
    os.environ.get("OPENENV_DOCKER_TESTS") != "1" or INSIDE,
    reason="set OPENENV_DOCKER_TESTS=1 (as root) to run from_docker_image on a real Docker engine",
)
def test_from_docker_image_on_a_real_engine() -> None:
    proc = subprocess.run(
        ["bash", str(RUN_SH), "--exec", sys.executable, "-m", "pytest", __file__, "-q", "-s", "-p", "no:cacheprovider",
         "-k", "inside_the_engine"],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )  # fmt: skip
    print(proc.stdout[-20000:], proc.stderr[-4000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
    assert "1 passed" in proc.stdout


@pytest.mark.skipif(not INSIDE, reason="needs run.sh --exec (DOCKER_HOST, OPENENV_WHEELS)")
def test_inside_the_engine(tmp_path: Path) -> None:
    context = tmp_path / "echo_env"
    shutil.copytree(
        REPO / "reference-servers" / "echo_env", context, ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    shutil.copytree(os.environ["OPENENV_WHEELS"], context / "wheels")
    tag = "openenv/echo_env:from-docker-image"
    version = os.environ["OPENENV_VERSION"]
    built = _docker(
        "build", "-q", "--network", "host", "--build-arg", f"OPENENV_VERSION={version}", "-t", tag, str(context)
    )
    assert built.returncode == 0, built.stderr

    async def use_async() -> str:
        env = await MCPToolClient.from_docker_image(tag)
        try:
            assert [tool.name for tool in await env.list_tools()] == ["echo_message", "echo_with_length"]
            assert await env.call_tool("echo_message", message="hi") == "hi"
            return env.base_url or ""
        finally:
            await env.close()

    base_url = asyncio.run(use_async())
    assert _down(base_url)
    with GenericEnvClient.from_docker_image(tag, env_vars={"OPENENV_TEST": "1"}).sync() as env:
        env.reset()
        step = env.step({"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": "sync"}})
        assert step.observation["result"]["data"] == "sync"
    left = _docker("ps", "-a", "--filter", "name=openenv-", "--format", "{{.Names}}")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout  # every container removed
