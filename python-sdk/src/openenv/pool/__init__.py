"""Environment pools: many sessions over N replicas from any provider, on asyncio or threads.

`EnvPool` (async) and `SyncEnvPool` (sync) place sessions on the least-loaded healthy replica
within its advertised `max_sessions`, probe health, fail a dead replica's sessions fast with
`SessionLostError` (never a silent new episode), replace the replica, retry session creation with
backoff and jitter, drain on shutdown and expose their counters as `PoolMetrics`.
"""

from openenv.pool._core import (
    NoHealthyReplicaError,
    PoolClosedError,
    PoolMetrics,
    ReplicaMetrics,
    RetryPolicy,
)
from openenv.pool.async_pool import EnvPool, PooledSession
from openenv.pool.sync_pool import SyncEnvPool, SyncPooledSession

__all__ = [
    "EnvPool",
    "NoHealthyReplicaError",
    "PoolClosedError",
    "PoolMetrics",
    "PooledSession",
    "ReplicaMetrics",
    "RetryPolicy",
    "SyncEnvPool",
    "SyncPooledSession",
]
