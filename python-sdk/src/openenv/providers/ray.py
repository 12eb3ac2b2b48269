"""`RayProvider`: environment servers as Ray actors placed across a Ray cluster (`openenv[ray]`).

Contract:

* `start()` creates one actor (`num_cpus`, `resources` per replica) that imports `target`
  (`module:attribute` of an app made by `openenv.server.create_app`, importable on every node),
  serves it in the actor's own process on a free port and returns a `RayServer` once `/health`
  answers. Killing the actor (or its node) kills the server with it.
* Placement: with `bundles=N` the provider reserves a placement group of N bundles with
  `strategy` (`PACK`, `SPREAD`, `STRICT_PACK`, `STRICT_SPREAD`) and puts each replica in a free
  bundle; without it each actor is scheduled with Ray's `SPREAD` (strategy `SPREAD`) or default
  (packing) policy.
* `RayServer.stop()` kills the actor (idempotent) and frees its bundle. `close()` removes the
  placement group.
* The server binds `host` (loopback by default: every node on one machine, as in the tests); on a
  multi-machine cluster pass `host="0.0.0.0"` and the URL names the node's IP.
* `local_cluster(nodes=2)` starts a real multi-node cluster on this machine (a head and
  `nodes - 1` more nodes, each a `ray start --block` process group) and always tears it down:
  for tests, benchmarks and trying things out.
* `remote_pool(...)` starts an `EnvPool` inside an async Ray actor, so Ray tasks and actors of a
  trainer open sessions and step them by session id (`SessionLostError` reaches them as such).

Ray is imported lazily: this module imports without it; `start()` says how to install it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openenv.errors import ConnectError
from openenv.providers.base import free_port, wait_until_healthy

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")

__all__ = ["STRATEGIES", "LocalRayCluster", "RayProvider", "RayServer", "local_cluster", "remote_pool"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConnectError("RayProvider needs Ray: pip install 'openenv[ray]'") from None
    return ray


class EnvServerActor:
    """The body of the per-replica actor: serves one app from a thread of the actor's process."""

    def __init__(self, target: str, host: str, ready_timeout_s: float) -> None:
        from openenv.server import load_app, run

        self.app = load_app(target)
        self.host = host
        self.port = free_port(host)
        self.thread = threading.Thread(target=run, args=(self.app, host, self.port), daemon=True)
        self.thread.start()
        advertised = host
        if host in ("0.0.0.0", "::"):
            import ray

            advertised = ray.util.get_node_ip_address()
        self.base_url = f"http://{advertised}:{self.port}"
        local = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{self.port}"
        wait_until_healthy(local, ready_timeout_s)

    def info(self) -> dict[str, Any]:
        import ray

        return {
            "base_url": self.base_url,
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }


@dataclass
class RayServer:
    """A server running in a Ray actor."""

    base_url: str
    actor: Any
    node_id: str
    pid: int
    bundle: int | None = None
    _provider: RayProvider | None = None

    def stop(self) -> None:
        """Kill the actor (and so its server); idempotent."""
        ray = _ray()
        with contextlib.suppress(Exception):
            ray.kill(self.actor, no_restart=True)
        if self._provider is not None and self.bundle is not None:
            self._provider._free_bundle(self.bundle, self)


@dataclass
class RayProvider:
    """Start environment servers as Ray actors.

    Attributes:
        target: `module:attribute` of the app; importable on every node (e.g. via `runtime_env`).
        num_cpus: CPUs each replica reserves.
        resources: further Ray resources each replica reserves (e.g. `{"env_node": 1}`).
        strategy: `PACK`, `SPREAD`, `STRICT_PACK` or `STRICT_SPREAD`.
        bundles: reserve a placement group of this many bundles (the most replicas at once).
        host: address the servers bind (loopback by default).
        runtime_env: Ray runtime environment of the actors (`env_vars`, `working_dir`, …).
        address: cluster to join when Ray is not initialised yet (`auto`, `host:port`).
        ready_timeout_s: bound on placement plus server start.
    """

    target: str
    num_cpus: float = 1.0
    resources: dict[str, float] = field(default_factory=dict)
    strategy: str = "SPREAD"
    bundles: int | None = None
    host: str = "127.0.0.1"
    runtime_env: dict[str, Any] | None = None
    address: str | None = None
    ready_timeout_s: float = 60.0
    _group: Any = field(default=None, init=False, repr=False)
    _bundle_owner: dict[int, RayServer] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        if self.num_cpus < 0 or any(v < 0 for v in self.resources.values()):
            raise ValueError("num_cpus and resources must not be negative")
        if self.bundles is not None and not 1 <= self.bundles <= 4096:
            raise ValueError("bundles must be between 1 and 4096")
        if self.strategy.startswith("STRICT") and self.bundles is None:
            raise ValueError(f"strategy {self.strategy} needs bundles= (a placement group)")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its lock and placement group (e.g. when handed to `remote_pool`)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_group", "_bundle_owner", "_lock")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._group = None
        self._bundle_owner = {}
        self._lock = threading.Lock()

    def _init(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        return ray

    def _bundle_shape(self) -> dict[str, float]:
        shape = {"CPU": self.num_cpus, **self.resources}
        return {k: v for k, v in shape.items() if v > 0} or {"CPU": 0.001}

    def _placement(self, ray: Any) -> tuple[dict[str, Any], int | None]:
        """Scheduling options for the next actor, and its bundle index."""
        if self.bundles is None:
            return {"scheduling_strategy": "SPREAD" if self.strategy == "SPREAD" else "DEFAULT"}, None
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        with self._lock:
            if self._group is None:
                group = placement_group([self._bundle_shape()] * self.bundles, strategy=self.strategy)
                try:
                    ray.get(group.ready(), timeout=self.ready_timeout_s)
                except Exception as exc:
                    ray.util.remove_placement_group(group)
                    raise ConnectError(
                        f"Ray could not place {self.bundles} bundles of {self._bundle_shape()} "
                        f"with strategy {self.strategy} within {self.ready_timeout_s:g} s: {exc}"
                    ) from None
                self._group = group
            free = [i for i in range(self.bundles) if i not in self._bundle_owner]
            if not free:
                raise ConnectError(f"all {self.bundles} bundles of the placement group hold a replica")
            index = free[0]
            self._bundle_owner[index] = RayServer("", None, "", 0)  # reserved until start() fills it
        strategy = PlacementGroupSchedulingStrategy(placement_group=self._group, placement_group_bundle_index=index)
        return {"scheduling_strategy": strategy}, index

    def _free_bundle(self, index: int, server: RayServer) -> None:
        with self._lock:
            if self._bundle_owner.get(index) is server:
                del self._bundle_owner[index]

    def start(self) -> RayServer:
        ray = self._init()
        options, bundle = self._placement(ray)
        if bundle is None:
            options["num_cpus"] = self.num_cpus
            if self.resources:
                options["resources"] = dict(self.resources)
        else:
            options["num_cpus"] = min(self.num_cpus, self._bundle_shape().get("CPU", 0.0))
            if self.resources:
                options["resources"] = dict(self.resources)
        if self.runtime_env:
            options["runtime_env"] = self.runtime_env
        actor_class = ray.remote(max_restarts=0, max_concurrency=4)(EnvServerActor)
        actor = actor_class.options(name=f"openenv-{uuid.uuid4().hex[:12]}", **options).remote(
            self.target, self.host, self.ready_timeout_s
        )
        try:
            info = ray.get(actor.info.remote(), timeout=self.ready_timeout_s)
        except Exception as exc:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
            if bundle is not None:
                with self._lock:
                    self._bundle_owner.pop(bundle, None)
            raise ConnectError(f"the Ray actor serving {self.target} did not start: {exc}") from None
        server = RayServer(info["base_url"], actor, info["node_id"], info["pid"], bundle, self)
        if bundle is not None:
            with self._lock:
                self._bundle_owner[bundle] = server
        return server

    def close(self) -> None:
        """Remove the placement group (kill the replicas first); idempotent."""
        with self._lock:
            group, self._group = self._group, None
            self._bundle_owner.clear()
        if group is not None:
            with contextlib.suppress(Exception):
                _ray().util.remove_placement_group(group)


class PoolActor:
    """The body of `remote_pool`'s actor: an `EnvPool` addressed by session id."""

    def __init__(self, provider: Any, replicas: int, options: dict[str, Any]) -> None:
        from openenv.pool import EnvPool

        self.pool: EnvPool[Any] = EnvPool(provider, replicas, **options)
        self.sessions: dict[str, Any] = {}

    async def start(self) -> list[str]:
        await self.pool.start()
        return self.pool.urls

    async def open(self) -> str:
        session = await self.pool.open_session()
        key = uuid.uuid4().hex
        self.sessions[key] = session
        return key

    async def reset(self, key: str, seed: int | None = None, **kwargs: Any) -> Any:
        return await self.sessions[key].reset(seed=seed, **kwargs)

    async def step(self, key: str, action: Any) -> Any:
        return await self.sessions[key].step(action)

    async def close_session(self, key: str) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            await session.close()

    async def metrics(self) -> dict[str, Any]:
        return self.pool.metrics().as_dict()

    async def shutdown(self, drain_timeout_s: float = 10.0) -> None:
        await self.pool.close(drain_timeout_s)
        self.sessions.clear()


def remote_pool(provider: Any, replicas: int, *, max_concurrency: int = 1000, **options: Any) -> Any:
    """Start an `EnvPool` in an async Ray actor (0 CPUs) and return its handle, once started.

    Ray tasks step through it: `key = ray.get(pool.open.remote())`,
    `ray.get(pool.step.remote(key, action))`, `pool.close_session.remote(key)`;
    `pool.shutdown.remote()` drains and stops the replicas.
    """
    ray = _ray()
    actor = ray.remote(num_cpus=0, max_concurrency=max_concurrency)(PoolActor).remote(provider, replicas, options)
    ray.get(actor.start.remote())
    return actor


@dataclass
class LocalRayCluster:
    """A running `local_cluster`: its GCS address and the node ids, head first."""

    address: str
    node_ids: list[str]
    processes: list[subprocess.Popen[bytes]]


def _stop_node(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM to `ray start --block` (it stops its node's processes), then SIGKILL its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout_s)


@contextlib.contextmanager
def local_cluster(
    nodes: int = 2,
    *,
    cpus_per_node: int = 2,
    object_store_bytes: int = 80_000_000,
    runtime_env: dict[str, Any] | None = None,
    start_timeout_s: float = 90.0,
) -> Iterator[LocalRayCluster]:
    """Start a Ray cluster of `nodes` nodes on this machine, connect this process, tear it all down after.

    The head listens on a free loopback port; every node is started with `--block` in its own
    process group, so stopping it (SIGTERM, then SIGKILL to the group) ends exactly the processes
    this call started. Node `i > 0` carries the custom resource `node_<i>` (1 unit).
    """
    if not 1 <= nodes <= 8:
        raise ValueError("nodes must be between 1 and 8")
    ray = _ray()
    ray_cli = str(Path(sys.executable).with_name("ray"))
    common = [
        f"--num-cpus={cpus_per_node}",
        f"--object-store-memory={object_store_bytes}",
        "--disable-usage-stats",
        "--node-ip-address=127.0.0.1",
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    processes: list[subprocess.Popen[bytes]] = []
    files = contextlib.ExitStack()
    log = files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 — closed in the finally below

    def spawn(args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [ray_cli, "start", "--block", *args, *common],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        processes.append(process)
        return process

    def fail(why: str) -> ConnectError:
        log.seek(0)
        return ConnectError(f"local Ray cluster: {why}\n{log.read()[-3000:].decode(errors='replace')}")

    try:
        port = free_port()
        address = f"127.0.0.1:{port}"
        head = spawn(["--head", f"--port={port}", "--include-dashboard=false"])
        deadline = time.monotonic() + start_timeout_s
        while subprocess.run([ray_cli, "status", f"--address={address}"], capture_output=True, env=env).returncode:
            if head.poll() is not None or time.monotonic() > deadline:
                raise fail("the head node did not start")
            time.sleep(0.5)
        for index in range(1, nodes):
            spawn([f"--address={address}", f'--resources={{"node_{index}": 1}}'])
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < nodes:
            if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
                raise fail(f"only {len([n for n in ray.nodes() if n['Alive']])} of {nodes} nodes joined")
            time.sleep(0.5)
        alive = [n for n in ray.nodes() if n["Alive"]]
        ordered = sorted(
            alive,
            key=lambda n: (
                -1
                if "node:__internal_head__" in n["Resources"]
                else min((int(k[5:]) for k in n["Resources"] if k.startswith("node_") and k[5:].isdigit()), default=0)
            ),
        )
        yield LocalRayCluster(address, [n["NodeID"] for n in ordered], processes)
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
        for process in reversed(processes):
            _stop_node(process, 20.0)
        files.close()
