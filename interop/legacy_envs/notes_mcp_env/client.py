"""Client of the notes environment: 0.10's `MCPToolClient` (`await env.call_tool("add_note", text=...)`)."""

from openenv.core.mcp_client import MCPToolClient


class NotesEnv(MCPToolClient):
    """Tools: add_note, list_notes, search_notes, word_count."""
