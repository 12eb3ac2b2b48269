"""MCP in the server runtime: `environment` (`MCPEnvironment`, whose steps are tool calls) and
`jsonrpc` (JSON-RPC 2.0 / MCP requests on `mcp` frames and `POST /mcp`)."""
