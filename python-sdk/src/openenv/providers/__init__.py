"""Providers start environment servers for clients: a local process (default) or a Docker container.

A provider is a factory of running servers: `start()` returns a `ServerHandle` (`base_url`,
`stop()`); each call starts a new, independent server, so one provider can back N replicas
(`openenv.pool.EnvPool`). Two more live in their own modules, imported on demand because their
engines are optional: `openenv.providers.ray.RayProvider` (`openenv[ray]`: Ray actors) and
`openenv.providers.kubernetes.KubernetesProvider` (`openenv[kubernetes]`: a Pod and a Service each).
"""

from openenv.providers.base import Provider, ServerHandle, wait_until_healthy
from openenv.providers.docker import DockerProvider
from openenv.providers.local import LocalProcessProvider

LocalDockerProvider = DockerProvider
"""The name the seed article uses."""

__all__ = [
    "DockerProvider",
    "LocalDockerProvider",
    "LocalProcessProvider",
    "Provider",
    "ServerHandle",
    "wait_until_healthy",
]
