"""The official MCP Python SDK client (streamable HTTP) uses an OpenEnv server's tools on `POST /mcp`."""

from __future__ import annotations

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from openenv.server.background import BackgroundServer


async def test_official_mcp_client_lists_and_calls_tools(echo_server: BackgroundServer) -> None:
    url = f"{echo_server.base_url}/mcp"
    async with streamable_http_client(url) as (read, write, *_), ClientSession(read, write) as session:
        if True:
            init = await session.initialize()
            assert init.server_info.name == "echo_env"
            tools = await session.list_tools()
            assert [t.name for t in tools.tools] == ["echo_message", "echo_with_length", "explode"]
            assert tools.tools[0].input_schema["required"] == ["message"]
            echoed = await session.call_tool("echo_with_length", {"message": "abc"})
            assert echoed.is_error is False and echoed.structured_content == {"message": "abc", "length": 3}
            failed = await session.call_tool("explode", {})
            assert failed.is_error is True
