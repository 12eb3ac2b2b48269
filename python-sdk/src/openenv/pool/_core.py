"""What the async and sync pools share, with no I/O: the replica table, placement, retries, metrics.

Contract:

* A replica is one server a provider started. Its capacity is the `max_sessions` its `/health`
  advertises (or the pool's `max_sessions_per_replica` when set, or when the server does not say).
* `PoolBook.choose()` places a new session on the healthy replica with the fewest of the pool's
  sessions that still has a free slot (ties: the lowest index); None when every healthy replica is
  full or none is healthy.
* `PoolBook.fail(replica)` marks a replica dead and hands back every session placed on it: the
  pool reports each one as lost (`SessionLostError`) and never opens a new episode in its place.
* Spares: servers started ahead of need; a failed replica is replaced by a ready spare (a health
  probe away) and the spare is started again in the background.
* `RetryPolicy.delay()` is exponential backoff with full jitter, never below a server's
  `Retry-After`, and bounded by `max_delay_s`.
* Every count is bounded: `PoolBook` holds at most `replicas` replicas and their sessions.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from openenv.errors import ClientClosedError, OpenEnvError, SessionLostError

__all__ = [
    "NoHealthyReplicaError",
    "PoolBook",
    "PoolClosedError",
    "PoolMetrics",
    "ReplicaMetrics",
    "ReplicaSlot",
    "RetryPolicy",
    "SessionLostError",
]

MAX_REPLICAS = 4096


class PoolClosedError(ClientClosedError):
    """The pool is closed or draining; it opens no new sessions."""


class NoHealthyReplicaError(OpenEnvError):
    """No replica could take a new session within the pool's `acquire_timeout_s`."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How session creation is retried after `CAPACITY_REACHED` or a connect error.

    Attributes:
        attempts: tries in all (the first one included).
        base_delay_s: the first backoff step; step n waits up to `base_delay_s * 2**n`.
        max_delay_s: no wait is longer than this (a larger `Retry-After` is capped here too).
    """

    attempts: int = 6
    base_delay_s: float = 0.05
    max_delay_s: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 100:
            raise ValueError("attempts must be between 1 and 100")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("need 0 <= base_delay_s <= max_delay_s")

    def delay(self, attempt: int, retry_after: Any = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before try `attempt + 1` (`attempt` counts from 0)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** min(attempt, 30)))
        wait = (rng or random).uniform(ceiling / 2, ceiling)
        floor = parse_retry_after(retry_after)
        if floor is not None:
            wait = max(wait, min(floor, self.max_delay_s))
        return wait


def parse_retry_after(value: Any) -> float | None:
    """A `Retry-After` in seconds (a number or a numeric string); None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


@dataclass(eq=False)
class ReplicaSlot:
    """One replica as the pool sees it."""

    index: int
    server: Any
    base_url: str
    max_sessions: int
    healthy: bool = True
    sessions: set[Any] = field(default_factory=set)
    probe_failures: int = 0
    generation: int = 0
    server_active_sessions: int | None = None
    failed_at: float | None = None  # `time.monotonic()` of the last failure

    @property
    def free(self) -> int:
        return self.max_sessions - len(self.sessions)


@dataclass(frozen=True, slots=True)
class ReplicaMetrics:
    index: int
    base_url: str
    healthy: bool
    sessions: int
    max_sessions: int
    generation: int
    server_active_sessions: int | None


@dataclass(frozen=True, slots=True)
class PoolMetrics:
    """A snapshot of a pool's counters (read with `pool.metrics()`).

    Attributes:
        replicas: per replica: URL, health, the pool's sessions on it, its capacity, how many
            times it was replaced (`generation`), the load its last `/health` reported.
        sessions_open: sessions open now.
        sessions_created: sessions opened since the pool started.
        sessions_closed: sessions closed by their owner or by the pool's shutdown.
        sessions_lost: sessions reported lost (`SessionLostError`), each exactly once.
        creation_retries: retried creation attempts (capacity, connect errors).
        creation_failures: creations that gave up.
        replacements: replicas replaced after a failure.
        replacement_failures: provider starts that failed while replacing.
        spares_ready: started standby servers waiting to replace a failed replica.
    """

    replicas: tuple[ReplicaMetrics, ...]
    sessions_open: int
    sessions_created: int
    sessions_closed: int
    sessions_lost: int
    creation_retries: int
    creation_failures: int
    replacements: int
    replacement_failures: int
    spares_ready: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "replicas": [
                {
                    "index": r.index,
                    "base_url": r.base_url,
                    "healthy": r.healthy,
                    "sessions": r.sessions,
                    "max_sessions": r.max_sessions,
                    "generation": r.generation,
                    "server_active_sessions": r.server_active_sessions,
                }
                for r in self.replicas
            ],
            "sessions_open": self.sessions_open,
            "sessions_created": self.sessions_created,
            "sessions_closed": self.sessions_closed,
            "sessions_lost": self.sessions_lost,
            "creation_retries": self.creation_retries,
            "creation_failures": self.creation_failures,
            "replacements": self.replacements,
            "replacement_failures": self.replacement_failures,
            "spares_ready": self.spares_ready,
        }


class PoolBook:
    """The replica table and counters of one pool (no I/O, no locking: the pools serialise access)."""

    def __init__(self, max_sessions_per_replica: int | None) -> None:
        if max_sessions_per_replica is not None and max_sessions_per_replica < 1:
            raise ValueError("max_sessions_per_replica must be at least 1")
        self.max_sessions_override = max_sessions_per_replica
        self.replicas: list[ReplicaSlot] = []
        self.sessions_created = 0
        self.sessions_closed = 0
        self.sessions_lost = 0
        self.creation_retries = 0
        self.creation_failures = 0
        self.replacements = 0
        self.replacement_failures = 0
        self.spares: list[Any] = []

    def capacity_of(self, health: dict[str, Any] | None) -> int:
        """A replica's capacity: the override, else `/health`'s `max_sessions`, else 1."""
        if self.max_sessions_override is not None:
            return self.max_sessions_override
        advertised = (health or {}).get("max_sessions")
        if isinstance(advertised, int) and not isinstance(advertised, bool) and advertised >= 1:
            return advertised
        return 1

    def add(self, server: Any, health: dict[str, Any] | None) -> ReplicaSlot:
        if len(self.replicas) >= MAX_REPLICAS:
            raise ValueError(f"a pool holds at most {MAX_REPLICAS} replicas")
        slot = ReplicaSlot(len(self.replicas), server, server.base_url, self.capacity_of(health))
        self.observe(slot, health)
        self.replicas.append(slot)
        return slot

    def observe(self, slot: ReplicaSlot, health: dict[str, Any] | None) -> None:
        """Record a successful `/health` answer."""
        slot.probe_failures = 0
        active = (health or {}).get("active_sessions")
        slot.server_active_sessions = active if isinstance(active, int) and not isinstance(active, bool) else None

    def choose(self) -> ReplicaSlot | None:
        best: ReplicaSlot | None = None
        for slot in self.replicas:
            if slot.healthy and slot.free > 0 and (best is None or len(slot.sessions) < len(best.sessions)):
                best = slot
        return best

    @property
    def open_sessions(self) -> int:
        return sum(len(slot.sessions) for slot in self.replicas)

    def fail(self, slot: ReplicaSlot) -> list[Any]:
        """Mark `slot` dead; returns the sessions placed on it (each now lost)."""
        if not slot.healthy:
            return []
        slot.healthy = False
        slot.failed_at = time.monotonic()
        lost = list(slot.sessions)
        slot.sessions.clear()
        self.sessions_lost += len(lost)
        return lost

    def replace(self, slot: ReplicaSlot, server: Any, health: dict[str, Any] | None) -> None:
        """Put a new server in a dead slot."""
        slot.server = server
        slot.base_url = server.base_url
        slot.max_sessions = self.capacity_of(health)
        slot.generation += 1
        slot.healthy = True
        self.observe(slot, health)
        self.replacements += 1

    def metrics(self) -> PoolMetrics:
        return PoolMetrics(
            replicas=tuple(
                ReplicaMetrics(
                    s.index,
                    s.base_url,
                    s.healthy,
                    len(s.sessions),
                    s.max_sessions,
                    s.generation,
                    s.server_active_sessions,
                )
                for s in self.replicas
            ),
            sessions_open=self.open_sessions,
            sessions_created=self.sessions_created,
            sessions_closed=self.sessions_closed,
            sessions_lost=self.sessions_lost,
            creation_retries=self.creation_retries,
            creation_failures=self.creation_failures,
            replacements=self.replacements,
            replacement_failures=self.replacement_failures,
            spares_ready=len(self.spares),
        )


def replica_lost(base_url: str, reason: str) -> SessionLostError:
    """The error every session of a failed replica gets."""
    return SessionLostError(f"the replica at {base_url} failed ({reason}); the session's episode is gone")
