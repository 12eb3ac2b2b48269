"""The async client and its sync twin against the real runtime on loopback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from openenv import CallToolAction, EnvClient, GenericEnvClient, GenericSyncEnvClient, SyncEnvClient
from openenv.errors import (
    CapacityReachedError,
    ClientClosedError,
    ConnectError,
    EpisodeEndedError,
    EpisodeNotStartedError,
    ExecutionError,
    RemoteProtocolError,
    RemoteValidationError,
    RequestTimeoutError,
    SessionLostError,
    StepTimeoutError,
)
from openenv.protocol import Mode
from openenv.providers import LocalProcessProvider
from openenv.server.background import BackgroundServer

from tests.conftest import Serve
from tests.envs import LineEnv, LineObservation, LineState, MoveAction

SDK_ROOT = Path(__file__).resolve().parents[2]


class LineClient(EnvClient[LineObservation]):
    observation_type = LineObservation
    state_type = LineState


class SyncLineClient(SyncEnvClient[LineObservation]):
    observation_type = LineObservation
    state_type = LineState


async def test_typed_async_episode(line_server: BackgroundServer) -> None:
    async with LineClient(line_server.base_url) as env:
        assert env.mode is Mode.V1 and env.session_id and env.limits["max_sessions"] == 16
        first = await env.reset(seed=3, episode_id="ep")
        assert isinstance(first.observation, LineObservation) and first.observation.position == 0
        assert first.metadata == {"seed": 3}
        result = await env.step(MoveAction(direction="right", amount=5))
        assert (result.reward, result.done, result.observation.position) == (-0.01, False, 5)
        result = await env.step(MoveAction(direction="right", amount=5))
        assert result.done and result.terminated and not result.truncated and result.observation.done
        state = await env.state()
        assert isinstance(state, LineState) and (state.episode_id, state.step_count, state.position) == ("ep", 2, 10)
        with pytest.raises(EpisodeEndedError):
            await env.step(MoveAction(direction="left", amount=1))


def test_sync_twin_same_api(line_server: BackgroundServer) -> None:
    with SyncLineClient(line_server.base_url) as env:
        with pytest.raises(EpisodeNotStartedError):
            env.step(MoveAction(direction="left", amount=1))
        env.reset()
        for _ in range(19):
            result = env.step(MoveAction(direction="right", amount=0))
        result = env.step(MoveAction(direction="right", amount=0))
        assert result.truncated and result.done and not result.terminated
        assert env.state().step_count == 20
    async_api = {m for m in dir(EnvClient) if not m.startswith("_")}
    sync_api = {m for m in dir(SyncEnvClient) if not m.startswith("_")}
    assert async_api - {"sync", "replicas"} == sync_api  # the twins share every method name


def test_generic_clients_and_base_mode(line_server: BackgroundServer) -> None:
    with GenericSyncEnvClient(line_server.base_url, protocol="base") as env:
        assert env.mode is Mode.BASE and env.session_id is None
        result = env.reset()
        assert result.observation == {"metadata": {"seed": None}, "position": 0, "text": ""}
        step = env.step({"direction": "left", "amount": 2})
        assert step.observation["position"] == -2 and step.terminated is False
        with pytest.raises(RemoteValidationError) as invalid:
            env.step({"direction": "up", "amount": 2})
        assert invalid.value.errors[0]["loc"] == ["direction"]
        assert env.state().step_count == 1


async def test_remote_errors_are_typed(line_server: BackgroundServer) -> None:
    async with GenericEnvClient(line_server.base_url) as env:
        await env.reset()
        with pytest.raises(ExecutionError):
            await env.step({"direction": "right", "amount": 1, "fault": "raise"})
        with pytest.raises(RemoteValidationError) as bad:
            await env.step({"direction": "right", "amount": "many"})
        assert bad.value.errors[0]["loc"] == ["data", "amount"]
        assert (await env.state()).step_count == 0


async def test_step_timeout_then_session_lost(serve: Serve) -> None:
    server = serve(LineEnv, step_timeout_s=0.2)
    env = GenericEnvClient(server.base_url)
    await env.reset()
    with pytest.raises(StepTimeoutError):
        await env.step({"direction": "right", "amount": 1, "fault": "hang"})
    with pytest.raises(SessionLostError) as lost:
        await env.state()
    assert lost.value.close_code == 1011
    with pytest.raises(SessionLostError):  # no silent new session
        await env.reset()
    await env.connect()  # only an explicit connect starts a new one
    assert (await env.reset()).observation["position"] == 0
    await env.close()


def test_request_timeout_abandons_the_session(serve: Serve) -> None:
    server = serve(LineEnv, step_timeout_s=1.5)  # outlives the client timeout, ends before teardown
    env = GenericSyncEnvClient(server.base_url, timeout_s=0.3)
    env.reset()
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        env.step({"direction": "right", "amount": 1, "fault": "hang"})
    assert time.monotonic() - started < 2
    with pytest.raises(SessionLostError):
        env.state()
    env.close()


def test_server_going_away_is_a_lost_session() -> None:
    from openenv.server import create_app

    server = BackgroundServer(create_app(LineEnv)).start()
    env = GenericSyncEnvClient(server.base_url)
    env.reset(episode_id="gone")
    server.stop()
    with pytest.raises(SessionLostError):
        env.step({"direction": "right", "amount": 1})
    with pytest.raises(SessionLostError):
        env.state()
    env.close()
    with pytest.raises(ClientClosedError):
        env.state()


async def test_capacity_and_connect_errors(serve: Serve) -> None:
    server = serve(LineEnv, max_sessions=1)
    async with GenericEnvClient(server.base_url):
        with pytest.raises(CapacityReachedError) as full:
            await GenericEnvClient(server.base_url).connect()
        assert full.value.details["max_sessions"] == 1 and full.value.details["retry_after"] == "1"
    with pytest.raises(ConnectError):
        await GenericEnvClient("http://127.0.0.1:9", connect_timeout_s=2).connect()


def test_v1_required_against_a_base_only_server(serve: Serve) -> None:
    server = serve(LineEnv, v1=False)
    with pytest.raises(RemoteProtocolError):
        GenericSyncEnvClient(server.base_url, protocol="v1").connect()
    with GenericSyncEnvClient(server.base_url) as env:
        assert env.mode is Mode.BASE


async def test_mcp_helpers(echo_server: BackgroundServer) -> None:
    async with GenericEnvClient(echo_server.base_url) as env:
        await env.reset()
        assert [t["name"] for t in await env.list_tools()] == ["echo_message", "echo_with_length", "explode"]
        assert await env.call_tool("echo_with_length", message="abcd") == {"message": "abcd", "length": 4}
        step = await env.step(CallToolAction(tool_name="echo_message", arguments={"message": "hi"}))
        assert step.observation["result"]["data"] == "hi"
        listed = await env.step_list_tools()
        assert len(listed.observation["tools"]) == 3
        with pytest.raises(RemoteProtocolError):
            await env.call_tool("explode")
        assert (await env.state()).step_count == 2


async def test_concurrent_sessions_from_one_process(line_server: BackgroundServer) -> None:
    async def episode(i: int) -> int:
        async with GenericEnvClient(line_server.base_url) as env:
            await env.reset(episode_id=f"e{i}")
            for _ in range(i):
                await env.step({"direction": "right", "amount": 1})
            state = await env.state()
            assert state.episode_id == f"e{i}"
            return state.step_count

    assert await asyncio.gather(*(episode(i) for i in range(8))) == list(range(8))


def test_local_process_provider_and_replicas() -> None:
    provider = LocalProcessProvider("tests.apps:line_app", cwd=str(SDK_ROOT))
    clients = EnvClient.with_provider(provider, replicas=2)
    sync_client = GenericSyncEnvClient.with_provider(provider)

    async def run() -> list[str]:
        urls = []
        for client in clients:
            await client.connect()
            await client.reset()
            urls.append(client.settings.base_url)
            await client.close()
        return urls

    urls = asyncio.run(run())
    assert len(set(urls)) == 2  # one server per replica
    with sync_client as env:
        assert env.reset().observation["position"] == 0
        url = env.settings.base_url
    with pytest.raises(ConnectError):  # stopped with the client
        GenericSyncEnvClient(url, connect_timeout_s=1).connect()
