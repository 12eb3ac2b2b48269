"""The official MCP Python SDK client (streamable HTTP) uses an OpenEnv server's tools on `POST /mcp`,
at every revision it speaks: 2026-07-28 (stateless: `server/discover`, per-request envelope, no
session id) and each handshake revision (`initialize`)."""

from __future__ import annotations

import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from openenv.server.background import BackgroundServer


async def test_official_mcp_client_lists_and_calls_tools(echo_server: BackgroundServer) -> None:
    url = f"{echo_server.base_url}/mcp"
    async with streamable_http_client(url) as (read, write, *_), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name == "echo_env"
        tools = await session.list_tools()
        assert [t.name for t in tools.tools] == ["echo_message", "echo_with_length", "explode"]
        assert tools.tools[0].input_schema["required"] == ["message"]
        echoed = await session.call_tool("echo_with_length", {"message": "abc"})
        assert echoed.is_error is False and echoed.structured_content == {"message": "abc", "length": 3}
        failed = await session.call_tool("explode", {})
        assert failed.is_error is True


@pytest.mark.parametrize("mode", ["auto", "2026-07-28"])
async def test_official_client_at_2026_07_28(echo_server: BackgroundServer, mode: str) -> None:
    """'auto' probes `server/discover` and adopts 2026-07-28; a pinned client skips the probe."""
    async with Client(f"{echo_server.base_url}/mcp", mode=mode) as client:  # type: ignore[arg-type]
        assert client.protocol_version == "2026-07-28"
        assert client.session.initialize_result is None  # no handshake at this revision
        if mode == "auto":
            discovered = client.session.discover_result
            assert discovered is not None and "2026-07-28" in discovered.supported_versions
            assert client.session.server_info is not None and client.session.server_info.name == "echo_env"
        tools = await client.list_tools()
        assert [t.name for t in tools.tools] == ["echo_message", "echo_with_length", "explode"]
        echoed = await client.call_tool("echo_with_length", {"message": "abc"})
        assert echoed.is_error is False and echoed.structured_content == {"message": "abc", "length": 3}
        failed = await client.call_tool("explode", {})
        assert failed.is_error is True and "explode failed" in failed.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602
        with pytest.raises(MCPError) as bad_args:
            await client.call_tool("echo_message", {})
        assert bad_args.value.code == -32602


@pytest.mark.parametrize("version", HANDSHAKE_PROTOCOL_VERSIONS)
async def test_official_client_at_each_handshake_revision(echo_server: BackgroundServer, version: str) -> None:
    """The SDK's session offers `version` in `initialize`; the server keeps it, and the session then
    sends it as `MCP-Protocol-Version` on every request."""
    url = f"{echo_server.base_url}/mcp"
    async with streamable_http_client(url) as (read, write, *_), ClientSession(read, write) as session:
        offer = types.InitializeRequestParams(
            protocol_version=version,
            capabilities=types.ClientCapabilities(),
            client_info=types.Implementation(name="revision-test", version="1"),
        )
        init = await session.send_request(types.InitializeRequest(params=offer), types.InitializeResult)
        assert init.protocol_version == version
        session.adopt(init)
        await session.send_notification(types.InitializedNotification())
        assert session.protocol_version == version
        assert [t.name for t in (await session.list_tools()).tools] == ["echo_message", "echo_with_length", "explode"]
        echoed = await session.call_tool("echo_message", {"message": "hi"})
        assert echoed.is_error is False and echoed.content[0].text == "hi"  # type: ignore[union-attr]
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602
        await session.send_ping()
