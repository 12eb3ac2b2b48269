"""Shared fixtures: real servers on loopback, built from the test environments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openenv.server import create_app
from openenv.server.background import BackgroundServer

from tests.envs import EchoEnv, LineEnv

Serve = Callable[..., BackgroundServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start `create_app(env, **settings)` on a free loopback port; stopped after the test."""
    servers: list[BackgroundServer] = []

    def start(env: Any = LineEnv, **settings: Any) -> BackgroundServer:
        server = BackgroundServer(create_app(env, **settings)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def line_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(LineEnv, name="line_env", max_sessions=16)) as server:
        yield server


@pytest.fixture(scope="module")
def echo_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(EchoEnv, name="echo_env", named_sessions=True)) as server:
        yield server
