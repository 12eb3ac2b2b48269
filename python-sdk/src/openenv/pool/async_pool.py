"""`EnvPool`: the trainer side of many environment servers, on asyncio.

Contract:

* `await EnvPool(provider, replicas=N).start()` starts N servers with `provider.start()` (any
  provider: local processes, Docker, Ray actors, Kubernetes pods) and reads each one's capacity.
* `async with pool.session() as env:` (or `await pool.open_session()`) opens one session on the
  least-loaded healthy replica with a free slot; while every replica is full it waits up to
  `acquire_timeout_s`. Creation is retried with backoff and jitter after `CAPACITY_REACHED` or a
  connect error, never sooner than the server's `Retry-After`, at most `retry.attempts` times.
* Health: `GET /health` on every replica each `health_interval_s`; a refused connection fails the
  replica at once, `unhealthy_after` failed probes in a row otherwise; a session whose connection
  drops triggers an immediate probe of its replica. Probes run on the pool's own threads, so an
  event loop busy with many sessions does not delay failure detection.
* A failed replica's sessions fail fast: their connections are aborted and every call raises
  `SessionLostError` naming the replica. The pool never opens a new episode in their place. The
  replica is replaced by a ready spare when `spares > 0` (recovery in about one health probe),
  else by a new `provider.start()` (bounded tries); a used spare is started again in the background.
* `await pool.close(drain_timeout_s)` refuses new sessions, waits for open ones to close, then
  closes the rest (each sends `close`) and stops every server. Every session is closed even when
  its owner is cancelled mid-episode.
* `pool.metrics()` returns a `PoolMetrics` snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import httpx

from openenv.client.async_client import EnvClient, GenericEnvClient
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

__all__ = ["EnvPool", "PooledSession"]


def _abort(client: EnvClient[Any]) -> None:
    """Drop a client's connection now (no closing handshake): a pending call raises at once."""
    ws = client._ws
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.abort()


class PooledSession(Generic[ObsT]):
    """One session of a pool: the client's calls, plus loss reporting to the pool."""

    def __init__(self, pool: EnvPool[ObsT], slot: ReplicaSlot, client: EnvClient[ObsT]) -> None:
        self._pool = pool
        self.replica = slot
        self.generation = slot.generation
        self.client = client
        self.lost: TransportError | None = None
        self.closed = False

    @property
    def base_url(self) -> str:
        return self.client.settings.base_url

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.lost is not None:
            raise self.lost
        if self.closed:
            raise ClientClosedError("the session is closed")
        try:
            return await getattr(self.client, name)(*args, **kwargs)
        except TransportError as exc:
            if self.lost is not None:
                raise self.lost from None
            self._pool._session_failed(self, exc)
            raise

    async def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = await self._call("reset", seed, episode_id, **kwargs)
        return result

    async def step(self, action: Any) -> StepResult[ObsT]:
        result: StepResult[ObsT] = await self._call("step", action)
        return result

    async def state(self) -> Any:
        return await self._call("state")

    async def mcp(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("mcp", method, params)
        return result

    async def call_tool(self, name: str, **arguments: Any) -> Any:
        return await self._call("call_tool", name, **arguments)

    async def list_tools(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("list_tools")
        return result

    async def close(self) -> None:
        """End the session (sends `close` when the connection is still up); idempotent."""
        if self.closed:
            return
        self.closed = True
        self._pool._release(self)
        with contextlib.suppress(Exception):
            await self.client.close()

    async def __aenter__(self) -> PooledSession[ObsT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.shield(self.close())


class EnvPool(Generic[ObsT]):
    """N replicas from one provider, with placement, health checks and replacement.

    Args:
        provider: has `start() -> handle` (`handle.base_url`, `handle.stop()`), called in a thread.
        replicas: how many servers to run (1..4096).
        client_type: the `EnvClient` subclass to open sessions with (typed results).
        client_options: keyword arguments for each client (`timeout_s`, `protocol`, …).
        max_sessions_per_replica: capacity per replica; default: what `/health` (or the v1 hello)
            advertises, 1 when a server says nothing.
        health_interval_s: time between health probes of each replica.
        health_timeout_s: bound on one probe.
        unhealthy_after: failed probes in a row (other than a refused connection) that fail a replica.
        retry: session-creation retries.
        acquire_timeout_s: how long `open_session()` waits for a free slot.
        replace: start a new server in place of a failed one.
        replace_attempts: provider starts tried per replacement.
        spares: standby servers kept started, to replace a failed replica at once (0..64).
    """

    def __init__(
        self,
        provider: Any,
        replicas: int,
        *,
        client_type: type[EnvClient[Any]] = GenericEnvClient,
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
        self._changed: asyncio.Condition | None = None
        self._http: httpx.Client | None = None
        self._prober: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._replacing: set[asyncio.Task[Any]] = set()
        self._stopping: set[asyncio.Future[Any]] = set()
        self._probing: set[ReplicaSlot] = set()
        self._health_task: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> EnvPool[ObsT]:
        """Start every replica (concurrently) and the health loop; on failure stop what started."""
        if self._started:
            return self
        self._started = True
        self._changed = asyncio.Condition()
        self._http = httpx.Client(timeout=self.health_timeout_s, trust_env=False)
        workers = min(32, self.replica_count + self.spare_count + 1)
        self._prober = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openenv-pool-probe")
        results = await asyncio.gather(
            *(asyncio.to_thread(self.provider.start) for _ in range(self.replica_count + self.spare_count)),
            return_exceptions=True,
        )
        servers = [r for r in results if not isinstance(r, BaseException)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers), return_exceptions=True)
            self._close_prober()
            self._closed = True
            raise errors[0]
        self.book.spares = servers[self.replica_count :]
        for server in servers[: self.replica_count]:
            self.book.add(server, await self._health(server.base_url))
        self._health_task = asyncio.create_task(self._health_loop(), name="openenv-pool-health")
        return self

    async def __aenter__(self) -> EnvPool[ObsT]:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.shield(self.close())

    async def close(self, drain_timeout_s: float = 10.0) -> None:
        """Drain: refuse new sessions, wait up to `drain_timeout_s` for open ones, close the rest, stop servers."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closing = True
        changed = self._condition
        async with changed:
            changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait_for(lambda: self.book.open_sessions == 0), drain_timeout_s)
        leftover = [s for slot in self.book.replicas for s in list(slot.sessions)]
        await asyncio.gather(*(s.close() for s in leftover), return_exceptions=True)
        self._closed = True
        tasks = [t for t in (self._health_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        # a replacement in flight sees `_closing` and stops the server it started
        await asyncio.gather(*tasks, *self._replacing, *self._stopping, return_exceptions=True)
        servers = [slot.server for slot in self.book.replicas] + self.book.spares
        self.book.spares = []
        await asyncio.gather(*(asyncio.to_thread(server.stop) for server in servers), return_exceptions=True)
        self._close_prober()

    def _close_prober(self) -> None:
        if self._prober is not None:
            self._prober.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            self._http.close()

    # -- sessions ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[PooledSession[ObsT]]:
        """`async with pool.session() as env:` — closed on exit, also when cancelled."""
        session = await self.open_session()
        try:
            yield session
        finally:
            await asyncio.shield(session.close())

    async def open_session(self) -> PooledSession[ObsT]:
        """Open a session on the least-loaded healthy replica (the caller closes it)."""
        if not self._started:
            raise PoolClosedError("start the pool first (await pool.start() or async with pool)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.acquire_timeout_s
        changed = self._condition
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            async with changed:
                while True:
                    if self._closing:
                        raise PoolClosedError("the pool is closed or draining")
                    slot = self.book.choose()
                    if slot is not None:
                        break
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        self.book.creation_failures += 1
                        raise NoHealthyReplicaError(
                            f"no healthy replica had a free slot within {self.acquire_timeout_s:g} s"
                        ) from last
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), remaining)
                client: EnvClient[ObsT] = self.client_type(slot.base_url, **self.client_options)
                session = PooledSession(self, slot, client)
                slot.sessions.add(session)
            try:
                await client.connect()
            except asyncio.CancelledError:
                await self._drop_reservation(session)
                raise
            except (CapacityReachedError, TransportError) as exc:
                last = exc
                await self._drop_reservation(session)
                if not isinstance(exc, CapacityReachedError):
                    self._probe_soon(slot)
                if attempt + 1 < self.retry.attempts:
                    self.book.creation_retries += 1
                    retry_after = exc.details.get("retry_after") if isinstance(exc, CapacityReachedError) else None
                    await asyncio.sleep(self.retry.delay(attempt, retry_after))
                continue
            if session not in slot.sessions or slot.generation != session.generation:
                with contextlib.suppress(Exception):
                    await client.close()
                last = replica_lost(slot.base_url, "failed while the session was opening")
                continue
            advertised = client.limits.get("max_sessions")
            if self.book.max_sessions_override is None and isinstance(advertised, int) and advertised >= 1:
                slot.max_sessions = advertised
            self.book.sessions_created += 1
            return session
        self.book.creation_failures += 1
        assert last is not None
        raise last

    async def _drop_reservation(self, session: PooledSession[ObsT]) -> None:
        session.closed = True
        session.replica.sessions.discard(session)
        self._notify()
        with contextlib.suppress(Exception):
            await session.client.close()

    def _release(self, session: PooledSession[ObsT]) -> None:
        slot = session.replica
        if session in slot.sessions and slot.generation == session.generation:
            slot.sessions.discard(session)
            self.book.sessions_closed += 1
            self._notify()

    def _session_failed(self, session: PooledSession[ObsT], exc: Exception) -> None:
        """A session's call failed in transport: it is lost; probe its replica now."""
        slot = session.replica
        session.lost = exc if isinstance(exc, TransportError) else replica_lost(slot.base_url, str(exc))
        if session in slot.sessions and slot.generation == session.generation:
            slot.sessions.discard(session)
            self.book.sessions_lost += 1
            self._notify()
        self._probe_soon(slot)

    def metrics(self) -> PoolMetrics:
        """Counters and per-replica load, now."""
        return self.book.metrics()

    @property
    def urls(self) -> list[str]:
        """The healthy replicas' base URLs."""
        return [slot.base_url for slot in self.book.replicas if slot.healthy]

    # -- health and replacement -------------------------------------------------------------------
    @property
    def _condition(self) -> asyncio.Condition:
        assert self._changed is not None
        return self._changed

    def _notify(self) -> None:
        changed = self._changed
        if changed is None:
            return

        async def wake() -> None:
            async with changed:
                changed.notify_all()

        self._spawn(wake())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe_url(self, base_url: str) -> tuple[dict[str, Any] | None, bool]:
        """`probe()` on a probe thread: (health object or None, connection refused)."""
        assert self._http is not None and self._prober is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._prober, probe, self._http, base_url)
        except RuntimeError:  # the executor was shut down by close()
            return None, False

    async def _health(self, base_url: str) -> dict[str, Any] | None:
        """`/health`'s object, or None when the server did not answer healthy."""
        return (await self._probe_url(base_url))[0]

    async def _probe(self, slot: ReplicaSlot) -> None:
        if not slot.healthy or self._closed:
            return
        generation = slot.generation
        health, refused = await self._probe_url(slot.base_url)
        if slot.generation != generation or not slot.healthy:
            return
        if health is not None:
            self.book.observe(slot, health)
            return
        slot.probe_failures += 1
        if refused or slot.probe_failures >= self.unhealthy_after:
            self._fail(slot, "connection refused" if refused else f"{slot.probe_failures} failed health probes")

    def _probe_soon(self, slot: ReplicaSlot) -> None:
        if slot in self._probing or not slot.healthy or self._closed:
            return
        self._probing.add(slot)

        async def probe() -> None:
            try:
                await self._probe(slot)
            finally:
                self._probing.discard(slot)

        self._spawn(probe())

    async def _health_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.health_interval_s)
            await asyncio.gather(
                *(self._probe(slot) for slot in self.book.replicas if slot.healthy),
                return_exceptions=True,
            )

    def _fail(self, slot: ReplicaSlot, reason: str) -> None:
        """Fail a replica: its sessions are lost at once; start its replacement."""
        lost = self.book.fail(slot)
        error = replica_lost(slot.base_url, reason)
        for session in lost:
            session.lost = error
            _abort(session.client)
        self._notify()
        if self.replace and not self._closing:
            task = asyncio.get_running_loop().create_task(self._replace(slot))
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _replace(self, slot: ReplicaSlot) -> None:
        old = slot.server
        self._stop_later(old)
        while self.book.spares and not self._closing:
            spare = self.book.spares.pop(0)
            self._start_spare()
            health = await self._health(spare.base_url)
            if health is not None and not self._closing:
                self.book.replace(slot, spare, health)
                self._notify()
                return
            self._stop_later(spare)
        for attempt in range(self.replace_attempts):
            if self._closing:
                return
            try:
                server = await asyncio.to_thread(self.provider.start)
            except Exception:
                self.book.replacement_failures += 1
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if self._closing:
                await asyncio.to_thread(server.stop)
                return
            self.book.replace(slot, server, await self._health(server.base_url))
            self._notify()
            return

    def _stop_later(self, server: Any) -> None:
        """Stop a server on a worker thread now; `close()` waits for it."""
        future = asyncio.get_running_loop().run_in_executor(None, server.stop)
        self._stopping.add(future)
        future.add_done_callback(self._stopping.discard)

    def _start_spare(self) -> None:
        """Start one standby server in the background (tracked like a replacement)."""

        async def start() -> None:
            for attempt in range(self.replace_attempts):
                if self._closing:
                    return
                try:
                    server = await asyncio.to_thread(self.provider.start)
                except Exception:
                    self.book.replacement_failures += 1
                    await asyncio.sleep(self.retry.delay(attempt))
                    continue
                if self._closing:
                    await asyncio.to_thread(server.stop)
                else:
                    self.book.spares.append(server)
                return

        task = asyncio.get_running_loop().create_task(start())
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)
