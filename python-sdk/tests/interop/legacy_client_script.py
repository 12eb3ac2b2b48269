"""Run by `.venv-openenv010/bin/python`: drive a server with openenv 0.10.0's own clients; print JSON.

Usage: legacy_client_script.py BASE_URL generic|mcp. Never imported by the project's own code.
"""

import asyncio
import json
import sys


def generic(base_url: str) -> dict:
    from openenv.core.generic_client import GenericEnvClient

    out: dict = {}
    with GenericEnvClient(base_url=base_url).sync() as env:
        reset = env.reset(seed=5, episode_id="legacy-ep")
        out["reset"] = {"observation": reset.observation, "reward": reset.reward, "done": reset.done}
        step = env.step({"direction": "right", "amount": 4})
        out["step"] = {"observation": step.observation, "reward": step.reward, "done": step.done}
        out["state"] = env.state()
        try:
            env.step({"direction": "up", "amount": 1})
        except Exception as exc:  # 0.10 raises RuntimeError with the server's code
            out["invalid"] = f"{type(exc).__name__}: {exc}"
    return out


async def mcp(base_url: str) -> dict:
    from openenv.core.mcp_client import MCPToolClient

    out: dict = {}
    async with MCPToolClient(base_url=base_url) as env:
        await env.reset()
        tools = await env.list_tools()
        out["tools"] = sorted(t.name for t in tools)
        out["echo"] = await env.call_tool("echo_message", message="from 0.10")
        out["length"] = await env.call_tool("echo_with_length", message="abc")
    return out


if __name__ == "__main__":
    url, mode = sys.argv[1], sys.argv[2]
    result = generic(url) if mode == "generic" else asyncio.run(mcp(url))
    print(json.dumps(result))
