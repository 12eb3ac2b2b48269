"""Cross-language interop: the Node/TypeScript server driven by the Python SDK client.

Builds `reference-servers/node` when needed (`npm ci` without `node_modules/`, `npm run build`
when a source is newer than `dist/`), starts it on a free loopback port for `echo` and for
`gridworld`, and drives it with `openenv.GenericSyncEnvClient` (v1 negotiated automatically) and
the async `GenericEnvClient` at base level. Discovery documents are validated against `schemas/`,
observations against the server's own `/schema` (OE-HTTP-006), and gridworld episodes are compared
with the Python reference server (`python -m gridworld_env.server`) played through the same client.
Skips, saying why, only when `node` or `npm` is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
import referencing
from openenv import GenericEnvClient, GenericSyncEnvClient
from openenv.errors import CapacityReachedError, RemoteError
from openenv.protocol.codes import Mode

NODE_DIR = Path(__file__).resolve().parents[1]
REPO = NODE_DIR.parents[1]
SCHEMAS = REPO / "schemas"
STARTUP_TIMEOUT_S = 20.0
BUILD_TIMEOUT_S = 300

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are required to build and run the Node reference server",
)


def _newest_source_mtime() -> float:
    paths = [
        *NODE_DIR.joinpath("src").rglob("*.ts"),
        NODE_DIR / "package-lock.json",
        NODE_DIR / "tsconfig.json",
    ]
    return max(p.stat().st_mtime for p in paths)


def _build() -> Path:
    """Install and compile when needed; returns the entry point."""
    entry = NODE_DIR / "dist" / "src" / "main.js"
    if not (NODE_DIR / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            timeout=BUILD_TIMEOUT_S,
        )
    if not entry.exists() or entry.stat().st_mtime < _newest_source_mtime():
        subprocess.run(["npm", "run", "build"], cwd=NODE_DIR, check=True, timeout=BUILD_TIMEOUT_S)
    return entry


def _wait_for_line(proc: subprocess.Popen[str], prefix: str) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"server did not start (exit {proc.poll()})")


@pytest.fixture(scope="module")
def entry() -> Path:
    return _build()


def _start_node(entry: Path, env_name: str, **limits: str) -> Iterator[str]:
    env = {**os.environ, "ENV": env_name, "HOST": "127.0.0.1", "PORT": "0", **limits}
    proc = subprocess.Popen(["node", str(entry)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = _wait_for_line(proc, "listening on ")
        yield line.split()[2]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def echo_url(entry: Path) -> Iterator[str]:
    yield from _start_node(entry, "echo")


@pytest.fixture(scope="module")
def grid_url(entry: Path) -> Iterator[str]:
    yield from _start_node(entry, "gridworld", OPENENV_MAX_SESSIONS="4")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def python_grid_url() -> Iterator[str]:
    """The Python gridworld reference server on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridworld_env.server"],
        cwd=REPO / "reference-servers",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the Python gridworld server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], referencing.Resource.from_contents(contents)))
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, registry=referencing.Registry().with_resources(resources))


def test_echo_over_v1_with_the_sync_client(echo_url: str) -> None:
    with GenericSyncEnvClient(echo_url) as client:
        result = client.reset(seed=3, episode_id="interop")
        assert client.mode is Mode.V1
        assert client.limits["max_message_bytes"] == 16 * 1024 * 1024
        assert result.observation["metadata"] == {
            "status": "ready",
            "message": "Echo environment ready!",
        }
        assert (result.reward, result.done, result.terminated, result.truncated) == (
            None,
            False,
            False,
            False,
        )
        step = client.step(
            {
                "type": "call_tool",
                "tool_name": "echo_with_length",
                "arguments": {"message": "héllo"},
            }
        )
        assert step.observation["result"]["data"] == {"message": "héllo", "length": 5}
        assert step.observation["error"] is None
        tools = client.list_tools()
        assert [tool["name"] for tool in tools] == ["echo_message", "echo_with_length"]
        assert tools[0]["inputSchema"]["required"] == ["message"]
        assert client.call_tool("echo_message", message="out of band") == "out of band"
        state = client.state()
        assert (state.episode_id, state.step_count) == ("interop", 1)


def test_echo_at_base_level_with_the_async_twin(echo_url: str) -> None:
    async def play() -> None:
        async with GenericEnvClient(echo_url, protocol="base") as client:
            await client.reset()
            assert client.mode is Mode.BASE
            step = await client.step({"tool_name": "echo_message", "arguments": {"message": "base"}})
            assert step.observation["result"]["structured_content"] == {"result": "base"}
            listed = await client.step({"type": "list_tools"})
            assert [tool["name"] for tool in listed.observation["tools"]] == [
                "echo_message",
                "echo_with_length",
            ]
            with pytest.raises(RemoteError) as caught:
                await client.step({"type": "call_tool"})
            assert caught.value.code == "VALIDATION_ERROR"
            assert (await client.state()).step_count == 2

    import asyncio

    asyncio.run(play())


def test_sync_twin_of_the_generic_client(grid_url: str) -> None:
    with GenericEnvClient(grid_url).sync() as client:
        first = client.reset(seed=5, width=6, height=5, traps=2)
        assert first.observation["width"] == 6
        assert client.mode is Mode.V1


def test_gridworld_errors_reach_the_client_as_typed_errors(grid_url: str) -> None:
    with GenericSyncEnvClient(grid_url) as client:
        with pytest.raises(RemoteError) as not_started:
            client.step({"direction": "north"})
        assert not_started.value.code == "EPISODE_NOT_STARTED"
        client.reset(seed=11, max_steps=1)
        assert client.step({"direction": "north"}).done
        with pytest.raises(RemoteError) as ended:
            client.step({"direction": "north"})
        assert ended.value.code == "EPISODE_ENDED"
        with pytest.raises(RemoteError) as invalid:
            client.step({"direction": "up"})
        assert invalid.value.code in {"VALIDATION_ERROR", "EPISODE_ENDED"}
        client.reset(seed=11)
        with pytest.raises(RemoteError) as invalid_action:
            client.step({"direction": "up"})
        assert invalid_action.value.code == "VALIDATION_ERROR"


def test_gridworld_matches_the_python_reference_server(grid_url: str, python_grid_url: str) -> None:
    schema = httpx.get(f"{grid_url}/schema", timeout=5).json()
    assert schema == httpx.get(f"{python_grid_url}/schema", timeout=5).json()
    observation_schema = jsonschema.Draft202012Validator(schema["observation"])
    moves = [
        "north",
        "east",
        "east",
        "south",
        "west",
        "south",
        "south",
        "east",
        "north",
        "west",
    ] * 8
    for seed in (0, 7, 42, 2**40 + 3):
        episodes = []
        for url in (grid_url, python_grid_url):
            with GenericSyncEnvClient(url) as client:
                results = [client.reset(seed=seed, episode_id=f"seed-{seed}")]
                for move in moves:
                    if results[-1].done:
                        break
                    results.append(client.step({"direction": move}))
                episodes.append(
                    [(r.observation, r.reward, r.done, r.terminated, r.truncated, r.metadata) for r in results]
                    + [client.state().model_dump()]
                )
        assert episodes[0] == episodes[1], f"seed {seed}"
        for observation, *_ in episodes[0][:-1]:
            observation_schema.validate(observation)


def test_discovery_documents_validate_against_schemas(echo_url: str, grid_url: str) -> None:
    for url in (echo_url, grid_url):
        metadata = httpx.get(f"{url}/metadata", timeout=5).json()
        _validator("MetadataResponse").validate(metadata)
        assert metadata["protocols"] == ["openenv.v1"]
        _validator("Limits").validate(metadata["limits"])
        _validator("SchemaResponse").validate(httpx.get(f"{url}/schema", timeout=5).json())
        _validator("State").validate(httpx.get(f"{url}/state", timeout=5).json())
        health = httpx.get(f"{url}/health", timeout=5).json()
        assert health["status"] == "healthy"
        reset = httpx.post(f"{url}/reset", json={"seed": 1}, timeout=5).json()
        _validator("HttpResetResponse").validate(reset)


def test_capacity_refusal_reaches_the_client_before_the_upgrade(grid_url: str) -> None:
    clients = [GenericSyncEnvClient(grid_url) for _ in range(4)]
    try:
        for client in clients:
            client.reset(seed=1)
        with httpx.Client() as http:
            response = http.get(
                f"{grid_url}/ws",
                headers={
                    "Connection": "Upgrade",
                    "Upgrade": "websocket",
                    "Sec-WebSocket-Version": "13",
                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Protocol": "openenv.v1",
                },
                timeout=5,
            )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        _validator("CapacityErrorResponse").validate(response.json())
        with (
            pytest.raises(CapacityReachedError) as refused,
            GenericSyncEnvClient(grid_url) as extra,
        ):
            extra.reset()
        assert refused.value.details.get("max_sessions") == 4
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize(
    ("manifest", "url_fixture"),
    [("openenv.yaml", "echo_url"), ("gridworld/openenv.yaml", "grid_url")],
)
def test_manifests_validate_and_agree_with_metadata(
    manifest: str, url_fixture: str, request: pytest.FixtureRequest
) -> None:
    import yaml

    data = yaml.safe_load((NODE_DIR / manifest).read_text())
    _validator("Manifest").validate(data)
    metadata = httpx.get(f"{request.getfixturevalue(url_fixture)}/metadata", timeout=5).json()
    assert (metadata["name"], metadata["version"]) == (data["name"], data["version"])
    assert metadata["protocols"] == data["protocol"]
    assert metadata["capabilities"]["mcp"] == data["capabilities"]["mcp"]
    assert {**data["limits"], "max_sessions": metadata["limits"]["max_sessions"]} == metadata["limits"]


def test_generated_types_are_fresh(entry: Path) -> None:
    """`npm run check:types`: src/generated/ equals a fresh json-schema-to-typescript run."""
    check = subprocess.run(
        ["node", "scripts/check-generated.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr


def test_node_test_suite_passes(entry: Path) -> None:
    """The server's own `node --test` suite (real server on loopback; see test/*.test.ts)."""
    tests = sorted(str(p.relative_to(NODE_DIR)) for p in (NODE_DIR / "dist" / "test").glob("*.test.js"))
    assert tests, "dist/test has no compiled tests"
    run = subprocess.run(
        ["node", "--test", *tests],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OPENENV_PYTHON": sys.executable},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout


@pytest.mark.parametrize("url_fixture", ["echo_url", "grid_url"])
def test_node_server_passes_every_must_of_the_conformance_suite(
    url_fixture: str, request: pytest.FixtureRequest
) -> None:
    from openenv_conformance import Outcome, run_suite

    report = run_suite(request.getfixturevalue(url_fixture), profiles="all")
    blocking = [f"{c.id}: {c.message}" for c in report.cases if c.outcome in (Outcome.FAIL, Outcome.ERROR)]
    assert blocking == [] and report.passed, blocking
    assert any(c.id == "v1.negotiate" and c.outcome is Outcome.PASS for c in report.cases)
