"""MCP echo environment written against openenv 0.10.0's public server API.

Runs only inside ``.venv-openenv010`` (where ``openenv`` is the real 0.10.0 package), e.g.
``python -m uvicorn echo_app:app`` from this directory. Contract, matching the 0.10 echo_env
transcripts in ``shared/reference/openenv-0.10/transcripts.txt``:

* action ``CallToolAction`` / observation ``CallToolObservation`` (MCP tools through ``step``);
* tools ``echo_message(message) -> str`` and ``echo_with_length(message) -> {message, length}``;
* ``reset`` returns reward ``0.0`` and metadata ``{"status": "ready", "message": "Echo environment
  ready!"}``; ``state`` is ``{episode_id, step_count}``; every ``step`` (including MCP actions)
  increments ``step_count``; ``reset(episode_id=...)`` adopts the given id, else mints a uuid4;
* capacity comes from ``MAX_CONCURRENT_ENVS`` (default 8).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from fastmcp import FastMCP
from openenv.core.env_server import (
    Action,
    CallToolAction,
    CallToolObservation,
    MCPEnvironment,
    Observation,
    State,
    create_app,
)

READY_METADATA = {"status": "ready", "message": "Echo environment ready!"}


def _build_tools() -> FastMCP:
    server = FastMCP("echo_env")

    @server.tool
    def echo_message(message: str) -> str:
        """Echo back the provided message.

        Args:
            message: The message to echo back
        """
        return message

    @server.tool
    def echo_with_length(message: str) -> dict[str, Any]:
        """Echo back the message with its length.

        Args:
            message: The message to echo back
        """
        return {"message": message, "length": len(message)}

    return server


class EchoEnvironment(MCPEnvironment):
    """One echo session: MCP tools plus an episode id and a step counter."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        super().__init__(_build_tools())
        self._state = State(episode_id=str(uuid.uuid4()), step_count=0)

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        self._state = State(episode_id=episode_id or str(uuid.uuid4()), step_count=0)
        return Observation(done=False, reward=0.0, metadata=dict(READY_METADATA))

    def step(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        self._state.step_count += 1
        return super().step(action, timeout_s=timeout_s, **kwargs)

    async def step_async(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        self._state.step_count += 1
        return await super().step_async(action, timeout_s=timeout_s, **kwargs)

    def _step_impl(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        raise ValueError(f"echo environment only accepts MCP actions, got {type(action).__name__}")

    @property
    def state(self) -> State:
        return self._state


app = create_app(
    EchoEnvironment,
    CallToolAction,
    CallToolObservation,
    env_name="echo_env",
    max_concurrent_envs=int(os.environ.get("MAX_CONCURRENT_ENVS", "8")),
)
