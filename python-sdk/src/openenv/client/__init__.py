"""Clients: `EnvClient` (async), `SyncEnvClient` (its sync twin) and the generic clients."""

from openenv.client.async_client import EnvClient, GenericEnvClient
from openenv.client.sync_client import GenericSyncEnvClient, SyncEnvClient

__all__ = ["EnvClient", "GenericEnvClient", "GenericSyncEnvClient", "SyncEnvClient"]
