"""A small streamable-HTTP MCP server (official SDK) for the wrap tests:
`python http_calc_server.py PORT [stateless]` (`stateless`: the SDK's stateless mode, JSON responses,
which serves 2026-07-28 requests and handshake-era ones without a session id)."""

from __future__ import annotations

import sys

from mcp.server import MCPServer

server = MCPServer("calc")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


if __name__ == "__main__":
    stateless = sys.argv[2:] == ["stateless"]
    server.run(
        "streamable-http", host="127.0.0.1", port=int(sys.argv[1]), stateless_http=stateless, json_response=stateless
    )
