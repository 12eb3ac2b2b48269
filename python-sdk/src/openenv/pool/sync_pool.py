"""`SyncEnvPool`: the sync twin of `EnvPool`, for trainers without an event loop.

Hand-twinned with `async_pool.EnvPool` (same names and behaviour, no `await`): sessions are
`SyncEnvClient`s usable from any thread (one thread per session at a time), health probes run on a
daemon thread, replacements on their own threads. A failed replica's sessions get their sockets
shut down, so a call blocked on one returns at once with `SessionLostError`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import httpx

from openenv.client.sync_client import GenericSyncEnvClient, SyncEnvClient
from openenv.errors import CapacityReachedError, ClientClosedError, TransportError
from openenv.pool._core import (
    NoHealthyReplicaError,
    PoolBook,
    PoolClosedError,
    PoolMetrics,
    ReplicaSlot,
    RetryPolicy,
    replica_lost,
)
from openenv.pool._probe import probe
from openenv.types import StepResult

ObsT = TypeVar("ObsT")

__all__ = ["SyncEnvPool", "SyncPooledSession"]


def _abort(client: SyncEnvClient[Any]) -> None:
    """Shut a client's socket down: a call blocked in `recv` returns at once."""
    ws = client._ws
    sock = getattr(ws, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class SyncPooledSession(Generic[ObsT]):
    """One session of a `SyncEnvPool` (see `PooledSession`)."""

    def __init__(self, pool: SyncEnvPool[ObsT], slot: ReplicaSlot, client: SyncEnvClient[ObsT]) -> None:
        self._pool = pool
        self.replica = slot
        self.generation = slot.generation
        self.client = client
        self.lost: TransportError | None = None
        self.closed = False

    @property
    def base_url(self) -> str:
        return self.client.settings.base_url

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.lost is not None:
            raise self.lost
        if self.closed:
            raise ClientClosedError("the session is closed")
        try:
            return getattr(self.client, name)(*args, **kwargs)
        except TransportError as exc:
            if self.lost is not None:
                raise self.lost from None
            self._pool._session_failed(self, exc)
            raise

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = self._call("reset", seed, episode_id, **kwargs)
        return result

    def step(self, action: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = self._call("step", action)
        return result

    def state(self) -> Any:
        return self._call("state")

    def mcp(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("mcp", method, params)
        return result

    def call_tool(self, name: str, **arguments: Any) -> Any:
        return self._call("call_tool", name, **arguments)

    def list_tools(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("list_tools")
        return result

    def close(self) -> None:
        """End the session (sends `close` when the connection is still up); idempotent."""
        if self.closed:
            return
        self.closed = True
        self._pool._release(self)
        with contextlib.suppress(Exception):
            self.client.close()

    def __enter__(self) -> SyncPooledSession[ObsT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SyncEnvPool(Generic[ObsT]):
    """N replicas from one provider, with placement, health checks and replacement (sync).

    Takes the same arguments as `EnvPool`; `client_type` is a `SyncEnvClient` subclass.
    """

    def __init__(
        self,
        provider: Any,
        replicas: int,
        *,
        client_type: type[SyncEnvClient[Any]] = GenericSyncEnvClient,
        client_options: dict[str, Any] | None = None,
        max_sessions_per_replica: int | None = None,
        health_interval_s: float = 1.0,
        health_timeout_s: float = 2.0,
        unhealthy_after: int = 2,
        retry: RetryPolicy | None = None,
        acquire_timeout_s: float = 60.0,
        replace: bool = True,
        replace_attempts: int = 5,
        spares: int = 0,
    ) -> None:
        if not 1 <= replicas <= 4096:
            raise ValueError("replicas must be between 1 and 4096")
        if not 0 <= spares <= 64:
            raise ValueError("spares must be between 0 and 64")
        if health_interval_s <= 0 or health_timeout_s <= 0 or acquire_timeout_s < 0:
            raise ValueError("intervals and timeouts must be positive")
        if unhealthy_after < 1 or replace_attempts < 1:
            raise ValueError("unhealthy_after and replace_attempts must be at least 1")
        self.provider = provider
        self.replica_count = replicas
        self.client_type = client_type
        self.client_options = dict(client_options or {})
        self.health_interval_s = health_interval_s
        self.health_timeout_s = health_timeout_s
        self.unhealthy_after = unhealthy_after
        self.retry = retry or RetryPolicy()
        self.acquire_timeout_s = acquire_timeout_s
        self.replace = replace
        self.replace_attempts = replace_attempts
        self.spare_count = spares
        self.book = PoolBook(max_sessions_per_replica)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._probing: set[ReplicaSlot] = set()
        self._started = False
        self._closing = False
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> SyncEnvPool[ObsT]:
        """Start every replica (concurrently) and the health thread; on failure stop what started."""
        if self._started:
            return self
        self._started = True
        total = self.replica_count + self.spare_count
        with ThreadPoolExecutor(max_workers=min(total, 32)) as executor:
            futures = [executor.submit(self.provider.start) for _ in range(total)]
        servers = [f.result() for f in futures if f.exception() is None]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            for server in servers:
                with contextlib.suppress(Exception):
                    server.stop()
            self._closed = True
            error = errors[0]
            assert error is not None
            raise error
        with self._changed:
            self.book.spares = servers[self.replica_count :]
            for server in servers[: self.replica_count]:
                self.book.add(server, self._health(server.base_url))
        self._thread(self._health_loop, "openenv-pool-health")
        return self

    def __enter__(self) -> SyncEnvPool[ObsT]:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, drain_timeout_s: float = 10.0) -> None:
        """Drain: refuse new sessions, wait up to `drain_timeout_s` for open ones, close the rest, stop servers."""
        if self._closed or not self._started:
            self._closed = True
            return
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.book.open_sessions == 0, drain_timeout_s)
            leftover = [s for slot in self.book.replicas for s in list(slot.sessions)]
        for session in leftover:
            session.close()
        self._closed = True
        self._stop.set()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(60)
        with self._changed:
            servers = [slot.server for slot in self.book.replicas] + self.book.spares
            self.book.spares = []
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()

    # -- sessions ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[SyncPooledSession[ObsT]]:
        """`with pool.session() as env:` — closed on exit, whatever ends the block."""
        session = self.open_session()
        try:
            yield session
        finally:
            session.close()

    def open_session(self) -> SyncPooledSession[ObsT]:
        """Open a session on the least-loaded healthy replica (the caller closes it)."""
        if not self._started:
            raise PoolClosedError("start the pool first (pool.start() or with pool)")
        deadline = time.monotonic() + self.acquire_timeout_s
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            with self._changed:
                while True:
                    if self._closing:
                        raise PoolClosedError("the pool is closed or draining")
                    slot = self.book.choose()
                    if slot is not None:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self.book.creation_failures += 1
                        raise NoHealthyReplicaError(
                            f"no healthy replica had a free slot within {self.acquire_timeout_s:g} s"
                        ) from last
                    self._changed.wait(remaining)
                client: SyncEnvClient[ObsT] = self.client_type(slot.base_url, **self.client_options)
                session = SyncPooledSession(self, slot, client)
                slot.sessions.add(session)
            try:
                client.connect()
            except (CapacityReachedError, TransportError) as exc:
                last = exc
                self._drop_reservation(session)
                if not isinstance(exc, CapacityReachedError):
                    self._probe_soon(slot)
                if attempt + 1 < self.retry.attempts:
                    with self._changed:
                        self.book.creation_retries += 1
                    retry_after = exc.details.get("retry_after") if isinstance(exc, CapacityReachedError) else None
                    time.sleep(self.retry.delay(attempt, retry_after))
                continue
            except BaseException:
                self._drop_reservation(session)
                raise
            with self._changed:
                valid = session in slot.sessions and slot.generation == session.generation
                if valid:
                    advertised = client.limits.get("max_sessions")
                    if self.book.max_sessions_override is None and isinstance(advertised, int) and advertised >= 1:
                        slot.max_sessions = advertised
                    self.book.sessions_created += 1
            if valid:
                return session
            with contextlib.suppress(Exception):
                client.close()
            last = replica_lost(slot.base_url, "failed while the session was opening")
        with self._changed:
            self.book.creation_failures += 1
        assert last is not None
        raise last

    def _drop_reservation(self, session: SyncPooledSession[ObsT]) -> None:
        session.closed = True
        with self._changed:
            session.replica.sessions.discard(session)
            self._changed.notify_all()
        with contextlib.suppress(Exception):
            session.client.close()

    def _release(self, session: SyncPooledSession[ObsT]) -> None:
        slot = session.replica
        with self._changed:
            if session in slot.sessions and slot.generation == session.generation:
                slot.sessions.discard(session)
                self.book.sessions_closed += 1
                self._changed.notify_all()

    def _session_failed(self, session: SyncPooledSession[ObsT], exc: Exception) -> None:
        slot = session.replica
        session.lost = exc if isinstance(exc, TransportError) else replica_lost(slot.base_url, str(exc))
        with self._changed:
            if session in slot.sessions and slot.generation == session.generation:
                slot.sessions.discard(session)
                self.book.sessions_lost += 1
                self._changed.notify_all()
        self._probe_soon(slot)

    def metrics(self) -> PoolMetrics:
        """Counters and per-replica load, now."""
        with self._changed:
            return self.book.metrics()

    @property
    def urls(self) -> list[str]:
        """The healthy replicas' base URLs."""
        with self._changed:
            return [slot.base_url for slot in self.book.replicas if slot.healthy]

    # -- health and replacement -------------------------------------------------------------------
    def _thread(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _health(self, base_url: str) -> dict[str, Any] | None:
        with httpx.Client(timeout=self.health_timeout_s, trust_env=False) as http:
            return probe(http, base_url)[0]

    def _probe(self, slot: ReplicaSlot, http: httpx.Client) -> None:
        with self._changed:
            if not slot.healthy or self._closed:
                return
            generation, url = slot.generation, slot.base_url
        health, refused = probe(http, url)
        with self._changed:
            if slot.generation != generation or not slot.healthy:
                return
            if health is not None:
                self.book.observe(slot, health)
                return
            slot.probe_failures += 1
            failed = refused or slot.probe_failures >= self.unhealthy_after
        if failed:
            self._fail(slot, "connection refused" if refused else f"{slot.probe_failures} failed health probes")

    def _probe_soon(self, slot: ReplicaSlot) -> None:
        with self._changed:
            if slot in self._probing or not slot.healthy or self._closed:
                return
            self._probing.add(slot)

        def probe() -> None:
            try:
                with httpx.Client(timeout=self.health_timeout_s, trust_env=False) as http:
                    self._probe(slot, http)
            finally:
                with self._changed:
                    self._probing.discard(slot)

        self._thread(probe, "openenv-pool-probe")

    def _health_loop(self) -> None:
        with httpx.Client(timeout=self.health_timeout_s, trust_env=False) as http:
            while not self._stop.wait(self.health_interval_s):
                for slot in list(self.book.replicas):
                    if self._stop.is_set():
                        return
                    self._probe(slot, http)

    def _fail(self, slot: ReplicaSlot, reason: str) -> None:
        with self._changed:
            lost = self.book.fail(slot)
            error = replica_lost(slot.base_url, reason)
            for session in lost:
                session.lost = error
            self._changed.notify_all()
            replace = self.replace and not self._closing
        for session in lost:
            _abort(session.client)
        if replace:
            self._thread(self._replace, "openenv-pool-replace", slot)

    def _replace(self, slot: ReplicaSlot) -> None:
        with contextlib.suppress(Exception):
            slot.server.stop()
        while not self._closing:
            with self._changed:
                spare = self.book.spares.pop(0) if self.book.spares else None
            if spare is None:
                break
            self._thread(self._start_spare, "openenv-pool-spare")
            health = self._health(spare.base_url)
            with self._changed:
                if health is not None and not self._closing:
                    self.book.replace(slot, spare, health)
                    self._changed.notify_all()
                    return
            with contextlib.suppress(Exception):
                spare.stop()
        for attempt in range(self.replace_attempts):
            if self._closing:
                return
            try:
                server = self.provider.start()
            except Exception:
                with self._changed:
                    self.book.replacement_failures += 1
                if self._stop.wait(self.retry.delay(attempt)):
                    return
                continue
            health = self._health(server.base_url)
            with self._changed:
                if not self._closing:
                    self.book.replace(slot, server, health)
                    self._changed.notify_all()
                    return
            server.stop()
            return

    def _start_spare(self) -> None:
        for attempt in range(self.replace_attempts):
            if self._closing:
                return
            try:
                server = self.provider.start()
            except Exception:
                with self._changed:
                    self.book.replacement_failures += 1
                if self._stop.wait(self.retry.delay(attempt)):
                    return
                continue
            with self._changed:
                if not self._closing:
                    self.book.spares.append(server)
                    return
            server.stop()
            return
