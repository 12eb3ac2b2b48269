"""`tools/call` failures: a result with `isError`; an `EnvironmentFault`'s text reaches the client,
anything else only by class name (OE-SEC-003), as for steps."""

from __future__ import annotations

import asyncio
from typing import Any

from openenv.server import EnvironmentFault, MCPEnvironment, create_app, tool
from openenv.server.mcp.jsonrpc import McpDispatcher


class FaultyTools(MCPEnvironment):
    @tool
    def locked(self) -> str:
        """Refuse, with a message for the client."""
        raise EnvironmentFault("the door is locked")

    @tool
    def broken(self) -> str:
        """Fail with an internal error."""
        raise KeyError("secret-internal-detail")


def call(name: str) -> dict[str, Any]:
    service = create_app(FaultyTools).service
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    reply = asyncio.run(McpDispatcher(None, service).handle(request))
    assert reply is not None and service.capacity.active == 0  # the stateless call gave its slot back
    result: dict[str, Any] = reply["result"]
    return result


def test_environment_fault_text_reaches_the_client() -> None:
    result = call("locked")
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "the door is locked"}]


def test_other_failures_name_only_the_class() -> None:
    result = call("broken")
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": "broken failed (KeyError)"}]
    assert "secret" not in str(result)
