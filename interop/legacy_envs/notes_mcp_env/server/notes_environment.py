"""A per-session notebook exposed as FastMCP tools, written against openenv 0.10's `MCPEnvironment`.

Tools: ``add_note(text) -> {id, count}`` (text of 1..1000 characters, at most 100 notes),
``list_notes() -> [str]``, ``search_notes(query) -> [int]`` (ids of notes containing the query,
case-insensitive) and ``word_count(text) -> int``. A tool that raises (empty or oversized text,
notebook full) comes back as a tool error observation. Every step counts in ``step_count``.
"""

import uuid
from typing import Any

from fastmcp import FastMCP
from openenv.core.env_server.mcp_environment import MCPEnvironment
from openenv.core.env_server.types import Action, Observation, State

MAX_NOTES = 100
MAX_TEXT = 1000


def build_server(notes: list[str]) -> FastMCP:
    server = FastMCP("notes")

    @server.tool
    def add_note(text: str) -> dict[str, int]:
        """Append a note to the notebook.

        Args:
            text: The note (1 to 1000 characters)
        """
        if not 0 < len(text) <= MAX_TEXT:
            raise ValueError(f"text must have 1 to {MAX_TEXT} characters")
        if len(notes) >= MAX_NOTES:
            raise ValueError("the notebook is full")
        notes.append(text)
        return {"id": len(notes) - 1, "count": len(notes)}

    @server.tool
    def list_notes() -> list[str]:
        """All notes, oldest first."""
        return list(notes)

    @server.tool
    def search_notes(query: str) -> list[int]:
        """Ids of the notes that contain the query (case-insensitive).

        Args:
            query: Text to look for
        """
        needle = query.lower()
        return [i for i, note in enumerate(notes) if needle in note.lower()]

    @server.tool
    def word_count(text: str) -> int:
        """Number of whitespace-separated words in a text.

        Args:
            text: Any text
        """
        return len(text.split())

    return server


class NotesEnvironment(MCPEnvironment):
    """A notebook the agent edits through MCP tools."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        self._notes: list[str] = []
        super().__init__(build_server(self._notes))
        self._state = State(episode_id=str(uuid.uuid4()), step_count=0)

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Observation:
        self._notes.clear()
        self._state = State(episode_id=episode_id or str(uuid.uuid4()), step_count=0)
        return Observation(done=False, reward=0.0, metadata={"status": "ready", "notes": 0})

    def step(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        self._state.step_count += 1
        return super().step(action, timeout_s=timeout_s, **kwargs)

    async def step_async(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        self._state.step_count += 1
        return await super().step_async(action, timeout_s=timeout_s, **kwargs)

    def _step_impl(self, action: Action, timeout_s: float | None = None, **kwargs: Any) -> Observation:
        raise ValueError(f"the notes environment only takes MCP actions, got {type(action).__name__}")

    @property
    def state(self) -> State:
        return self._state
