"""One timer task per server instead of one timer per request.

Step and idle timeouts are enforced by a single periodic task, so the hot path never schedules a
timer. Two kinds of items:

* *deadline items* (idle sessions) sit in a heap once, keyed by the deadline they had when pushed;
  a session only moves its `deadline` attribute forward on every frame. A tick pops what is due,
  expires it if its current deadline has passed, and pushes it back with its new deadline
  otherwise — so a tick touches only due items, not every session;
* *running items* (environment calls in flight) are in a set while they run; a tick checks them all.

A timeout fires within one `resolution` of its deadline; expiring an item cancels the task that
waits on it, after the item records why.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol

INFINITY = float("inf")
"""A deadline that never expires (the item is busy: a request is running)."""
FINISHED = float("nan")
"""The deadline of an item that is done: the watchdog forgets it."""


def is_finished(deadline: float) -> bool:
    """Whether `deadline` is `FINISHED` (NaN is the one value unequal to itself)."""
    return deadline != deadline


class Watched(Protocol):
    """Something with a deadline: a running environment call or an idle session."""

    def deadline(self) -> float:
        """The current deadline (loop time); `inf` when none applies; NaN once finished."""

    def expire(self) -> None:
        """Act on the expiry (record why, cancel the waiting task)."""


class Watchdog:
    """Checks deadlines every `resolution` seconds on the server's event loop."""

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution
        self.running: set[Watched] = set()
        self._heap: list[tuple[float, int, Watched]] = []
        self._live = 0
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start the checking task on the running loop (again, if the app moved to a new loop)."""
        task = self._task
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="openenv-watchdog")

    def watch(self, item: Watched) -> None:
        """Track a deadline item until `forget(item)` (its `deadline()` is then NaN)."""
        heapq.heappush(self._heap, (item.deadline(), next(self._order), item))
        self._live += 1

    def forget(self, item: Watched) -> None:
        """A deadline item finished. Its heap entry goes at its next pop, or sooner: when finished
        entries outnumber live ones the heap is rebuilt, so session churn cannot pile them up."""
        self._live -= 1
        heap = self._heap
        if len(heap) > 2 * self._live + 64:
            live = [entry for entry in heap if not is_finished(entry[2].deadline())]
            heapq.heapify(live)
            self._heap = live

    def check(self, now: float) -> None:
        """One tick: expire what is due."""
        for item in [i for i in self.running if i.deadline() <= now]:
            self.running.discard(item)
            item.expire()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, item = heapq.heappop(heap)
            current = item.deadline()
            if is_finished(current):
                continue
            if current <= now:
                item.expire()
            elif current == INFINITY:  # busy right now: look again on the next tick
                heapq.heappush(heap, (now + self.resolution, next(self._order), item))
            else:
                heapq.heappush(heap, (current, next(self._order), item))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.resolution)
            self.check(loop.time())
