"""`EchoEnvironment`: two MCP tools that echo a message, wire-compatible with 0.10's echo_env.

Contract (as 0.10's echo_env, see `shared/reference/openenv-0.10/transcripts.txt`):

* `reset(seed=None, episode_id=None, **kwargs)` starts an episode (a fresh uuid4 unless
  `episode_id` is given; other keyword arguments are accepted and ignored) and returns an
  observation with `reward` 0.0 and metadata `{"status": "ready", "message": "Echo environment
  ready!"}`.
* Tools (driven by `CallToolAction(tool_name=..., arguments=...)` steps, `mcp` frames or
  `POST /mcp`): `echo_message(message)` returns the message; `echo_with_length(message)` returns
  `{"message": message, "length": len(message)}`. Each tool step counts one step in `state`.
* The message size is bounded by the server's `max_message_bytes` (no tool-level limit, as in
  0.10, so the tool schemas stay identical).
"""

from __future__ import annotations

from typing import Annotated, Any

from openenv import Observation
from openenv.server import MCPEnvironment, tool
from pydantic import Field

READY_METADATA: dict[str, str] = {"status": "ready", "message": "Echo environment ready!"}
Message = Annotated[str, Field(description="The message to echo back")]


class EchoEnvironment(MCPEnvironment):
    """Echoes messages back through MCP tools."""

    reset_observation_type = Observation
    blocking = False  # the tools are pure functions: they run on the event loop, no thread hop

    def ready_metadata(self) -> dict[str, Any]:
        return dict(READY_METADATA)

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        """Start an episode; the reset observation carries reward 0.0 like 0.10's echo_env."""
        observation = await super().reset(seed=seed, episode_id=episode_id)
        observation.reward = 0.0
        return observation

    @tool
    def echo_message(self, message: Message) -> str:
        """Echo back the provided message."""
        return message

    @tool
    def echo_with_length(self, message: Message) -> dict[str, Any]:
        """Echo back the message with its length."""
        return {"message": message, "length": len(message)}
