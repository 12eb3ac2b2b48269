"""One timer task per server instead of one timer per request.

Step and idle timeouts are enforced by a single periodic task that looks at the calls and the idle
sessions currently registered with it: registering is a set insertion, so the hot path pays no
timer scheduling per frame. A timeout fires within one `resolution` of its deadline; expiring an
item cancels the task that waits on it, after setting the item's flag so the task knows why.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Watched(Protocol):
    """Something with a deadline: a running environment call or an idle session."""

    def expired(self, now: float) -> bool:
        """Whether the deadline has passed (checked by the watchdog on every tick)."""

    def expire(self) -> None:
        """Act on the expiry (set a flag, cancel the waiting task)."""


class Watchdog:
    """Checks registered items every `resolution` seconds on the server's event loop."""

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution
        self.items: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start the checking task on the running loop (again, if the app moved to a new loop)."""
        task = self._task
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="openenv-watchdog")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.resolution)
            now = loop.time()
            for item in [i for i in self.items if i.expired(now)]:
                self.items.discard(item)
                item.expire()
