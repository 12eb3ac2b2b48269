"""The notes environment's actions and observations are 0.10's MCP types."""

from openenv.core.env_server.mcp_types import CallToolAction, CallToolObservation, ListToolsAction

__all__ = ["CallToolAction", "CallToolObservation", "ListToolsAction"]
