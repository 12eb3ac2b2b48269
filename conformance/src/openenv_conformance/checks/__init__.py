"""Check modules, one per profile; importing this package registers every check."""

from openenv_conformance.checks import (  # noqa: F401
    concurrency,
    core,
    determinism,
    episode,
    http,
    isolation,
    mcp,
    performance,
    rewards,
    robustness,
    tasks,
    v1,
)
