"""Drive an echo_env server with openenv 0.10's own clients; print one JSON report on stdout.

Run only with ``.venv-openenv010/bin/python`` (its ``openenv`` is the 0.10.0 package):
``python legacy_clients.py generic|mcp BASE_URL``. ``generic`` uses 0.10's ``GenericEnvClient``
over ``/ws``; ``mcp`` uses 0.10's ``MCPToolClient`` the way 0.10's ``EchoEnv`` does (it creates
a session with ``POST /mcp openenv/session/create``, attaches ``/ws?session_id=``, lists and calls
tools over ``POST /mcp``). Exit status 0 with the report, or 1 with the exception on stderr. Every
client call is bounded by the clients' own timeouts and a 30 s overall limit.
"""

import asyncio
import json
import sys
from typing import Any

from openenv.core.generic_client import GenericEnvClient
from openenv.core.mcp_client import MCPToolClient

OVERALL_TIMEOUT_S = 30.0


class EchoEnv(MCPToolClient):
    """0.10's echo_env client is exactly an `MCPToolClient`."""


async def generic(base_url: str) -> dict[str, Any]:
    async with GenericEnvClient(base_url=base_url, message_timeout_s=10.0) as env:
        reset = await env.reset(episode_id="legacy-ep")
        state0 = await env.state()
        echoed = await env.step({"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": "hi"}})
        sized = await env.step(
            {
                "type": "call_tool",
                "tool_name": "echo_with_length",
                "arguments": {"message": "hello"},
            }
        )
        listed = await env.step({"type": "list_tools"})
        state = await env.state()
    return {
        "reset": {"observation": reset.observation, "reward": reset.reward, "done": reset.done},
        "state0": state0,
        "echo": {"observation": echoed.observation, "reward": echoed.reward, "done": echoed.done},
        "length": sized.observation,
        "tools": listed.observation["tools"],
        "state": state,
    }


async def mcp(base_url: str) -> dict[str, Any]:
    async with EchoEnv(base_url=base_url, message_timeout_s=10.0) as env:
        reset = await env.reset(episode_id="mcp-ep")
        tools = await env.list_tools(use_cache=False)
        echoed = await env.call_tool("echo_message", message="over mcp")
        sized = await env.call_tool("echo_with_length", message="abcd")
        state = await env.state()
    return {
        "reset_reward": reset.reward,
        "reset_metadata": reset.observation.metadata,
        "tools": [{"name": t.name, "description": t.description} for t in tools],
        "echo": echoed,
        "length": sized,
        "state": {"episode_id": state.episode_id, "step_count": state.step_count},
    }


def main() -> int:
    mode, base_url = sys.argv[1], sys.argv[2]
    runner = {"generic": generic, "mcp": mcp}[mode]
    report = asyncio.run(asyncio.wait_for(runner(base_url), OVERALL_TIMEOUT_S))
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
