"""Drive the environments of ``interop/legacy_envs/`` through their OWN clients (``client.py``).

Run as a script by either interpreter — ``.venv-openenv010`` (0.10's ``EnvClient``) or
``.venv-compat`` (ours, ``openenv.core``) — from ``interop/legacy_envs/``:
``python legacy_clients.py APP BASE_URL``. It plays a short scripted episode the way the
package's README would (sync use via ``.sync()``, async use with ``async with``, ``state()``, an
error reply, MCP tools through ``MCPToolClient``) and prints one JSON object of what it saw,
episode ids removed, so that the four client × server combinations can be compared for equality.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


def tictactoe(base_url: str) -> dict[str, Any]:
    from tictactoe_env import MoveAction, TicTacToeEnv

    seen: dict[str, Any] = {}
    with TicTacToeEnv(base_url=base_url).sync() as env:
        first = env.reset(seed=5)
        seen["reset"] = [first.observation.board, first.observation.legal_moves, first.reward, first.done]
        moves = []
        result = first
        while not result.done:
            cell = result.observation.legal_moves[0]
            result = env.step(MoveAction(row=cell // 3, col=cell % 3))
            moves.append([result.observation.board, result.reward, result.done, result.observation.winner])
        seen["moves"] = moves
        state = env.state()
        seen["state"] = {"step_count": state.step_count, "board": state.board, "seed": state.seed}
        try:
            env.step(MoveAction(row=0, col=0))
        except RuntimeError as exc:  # 0.10's client raises RuntimeError on an error frame
            seen["after_game_over"] = "EXECUTION_ERROR" in str(exc)

    async def main() -> list[Any]:
        async with TicTacToeEnv(base_url=base_url) as env:
            await env.reset(seed=1)
            taken = await env.step(MoveAction(row=1, col=1))
            again = await env.step(MoveAction(row=1, col=1))
            return [taken.observation.board, again.reward, again.observation.message]

    seen["async"] = asyncio.run(main())
    return seen


def code_exec(base_url: str) -> dict[str, Any]:
    from code_exec_env import CodeAction, CodeExecEnv

    seen: dict[str, Any] = {}
    with CodeExecEnv(base_url=base_url).sync() as env:
        env.reset()
        ok = env.step(CodeAction(code="print(6 * 7)"))
        bad = env.step(CodeAction(code="raise SystemExit(3)"))
        done = env.step(CodeAction(code="print('DONE')"))
        seen["steps"] = [
            [ok.observation.stdout, ok.observation.exit_code, ok.reward, ok.done],
            [bad.observation.exit_code, bad.reward],
            [done.observation.stdout, done.done],
        ]
        seen["metadata"] = ok.observation.metadata
        seen["step_count"] = env.state().step_count
    return seen


def notes_mcp(base_url: str) -> dict[str, Any]:
    from notes_mcp_env import NotesEnv

    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with NotesEnv(base_url=base_url) as env:
            await env.reset()
            tools = await env.list_tools()
            seen["tools"] = sorted((t.name, sorted(t.input_schema.get("properties", {}))) for t in tools)
            seen["add"] = await env.call_tool("add_note", text="buy milk")
            await env.call_tool("add_note", text="call Bob")
            seen["search"] = await env.call_tool("search_notes", query="BOB")
            seen["words"] = await env.call_tool("word_count", text="one two three")
            try:
                await env.call_tool("add_note", text="")
            except RuntimeError as exc:
                seen["empty_note"] = str(exc).split(":")[0]
            try:
                await env.call_tool("no_such_tool")
            except RuntimeError as exc:
                seen["unknown"] = "tool_not_found" in str(exc)
            state = await env.state()
            seen["step_count"] = state.step_count
        return seen

    return asyncio.run(main())


APPS = {"tictactoe": tictactoe, "code_exec": code_exec, "notes_mcp": notes_mcp}

if __name__ == "__main__":
    sys.path.insert(0, ".")  # the environment packages live in the working directory
    print(json.dumps(APPS[sys.argv[1]](sys.argv[2]), sort_keys=True))
