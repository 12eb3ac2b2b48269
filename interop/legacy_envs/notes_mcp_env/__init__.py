"""A notebook of MCP tools (fastmcp) in openenv 0.10's template layout."""

from .client import NotesEnv

__all__ = ["NotesEnv"]
