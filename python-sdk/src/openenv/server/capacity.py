"""Session capacity: the one owner of the count of open sessions.

Every session — a `/ws` connection, a stateless HTTP call in flight, a named session — holds one
`Slot` from `Capacity.acquire()` for as long as it exists. `Slot.release()` is idempotent, so each
path may release wherever its session ends (before the close frame reaches the peer, OE-LIM-014)
and again in a `finally` without counting twice. Nothing else changes the count.
"""

from __future__ import annotations

from openenv.server.faults import CapacityExhausted


class Slot:
    """One session's claim on capacity; `release()` gives it back, once."""

    __slots__ = ("_capacity", "released")

    def __init__(self, capacity: Capacity) -> None:
        self._capacity = capacity
        self.released = False

    def release(self) -> None:
        """Give the slot back; later calls do nothing."""
        if not self.released:
            self.released = True
            self._capacity._active -= 1


class Capacity:
    """At most `maximum` slots held at a time."""

    __slots__ = ("_active", "maximum")

    def __init__(self, maximum: int) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self._active = 0

    @property
    def active(self) -> int:
        """Slots held now."""
        return self._active

    def available(self) -> bool:
        """Whether `acquire()` would succeed now."""
        return self._active < self.maximum

    def acquire(self) -> Slot | None:
        """A slot, or None when all `maximum` are held."""
        if self._active >= self.maximum:
            return None
        self._active += 1
        return Slot(self)

    def claim(self) -> Slot:
        """A slot, or `CapacityExhausted` when all are held."""
        slot = self.acquire()
        if slot is None:
            raise CapacityExhausted(self._active, self.maximum)
        return slot
