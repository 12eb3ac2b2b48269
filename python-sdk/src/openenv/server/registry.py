"""Named sessions: `openenv/session/create` on `POST /mcp` and `/ws?session_id=` attach (0.10 MCP clients).

Off unless `ServerConfig.named_sessions` is set (OE-SEC-002). A named session owns one environment
instance and one capacity slot from creation until `openenv/session/close` or until it has been idle
(no request, no attached connection) for `idle_timeout_s` (OE-MCP-031, OE-MCP-032). At most one
`/ws` connection is attached at a time; detaching keeps the session.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from openenv.server.capacity import Slot
from openenv.server.host import EnvHost


@dataclass(slots=True)
class NamedSession:
    """One named session: its environment and whether a connection is attached."""

    session_id: str
    host: EnvHost
    slot: Slot
    attached: bool = False
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)


class SessionRegistry:
    """The named sessions of one server."""

    def __init__(self, idle_timeout_s: float) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._sessions: dict[str, NamedSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, host: EnvHost, slot: Slot) -> NamedSession:
        """Register a new session, which holds `slot` until it is closed."""
        session = NamedSession(str(uuid.uuid4()), host, slot)
        self._sessions[session.session_id] = session
        self._arm(session)
        return session

    def get(self, session_id: object) -> NamedSession | None:
        return self._sessions.get(session_id) if isinstance(session_id, str) else None

    def touch(self, session: NamedSession) -> None:
        """A request used the session: restart its idle clock."""
        if not session.attached:
            self._arm(session)

    def attach(self, session: NamedSession) -> None:
        session.attached = True
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None

    def detach(self, session: NamedSession) -> None:
        session.attached = False
        if session.session_id in self._sessions:
            self._arm(session)

    async def close(self, session: NamedSession) -> None:
        """Destroy the session, close its environment and release its slot; idempotent."""
        if self._sessions.pop(session.session_id, None) is None:
            return
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        session.slot.release()
        await session.host.close()

    async def close_all(self) -> None:
        for session in list(self._sessions.values()):
            await self.close(session)

    def _arm(self, session: NamedSession) -> None:
        if session.expiry is not None:
            session.expiry.cancel()
        loop = asyncio.get_running_loop()
        session.expiry = loop.call_later(self.idle_timeout_s, self._expire, session)

    def _expire(self, session: NamedSession) -> None:
        session.expiry = None
        if not session.attached:
            task = asyncio.get_running_loop().create_task(self.close(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
