"""The Docker Engine connection `build` and `push` share (the `docker` SDK, `openenv[docker]`).

Contract: `engine()` returns a `docker.DockerClient` for `$DOCKER_HOST` (else the default socket)
after a ping, or raises a `CliError` saying how to get one: install the extra, or start an engine
/ set `DOCKER_HOST`, or run without a container (`openenv serve`, `LocalProcessProvider`).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from openenv.cli._ui import CliError

API_VERSION = "1.41"
DEFAULT_HOST = "unix:///var/run/docker.sock"
NO_ENGINE_HINT = (
    "start one (`dockerd`, Docker Desktop, or reference-servers/docker/run.sh --exec CMD) and set DOCKER_HOST, "
    "or run the environment without a container: `openenv serve PATH` / LocalProcessProvider"
)


def engine(timeout_s: float = 10.0) -> Any:
    try:
        # by name: the checkout's reference-servers/docker/ folder would shadow the SDK for mypy
        docker: Any = importlib.import_module("docker")
        from docker.errors import DockerException
        from requests.exceptions import RequestException
    except ImportError:
        raise CliError("the Docker SDK is not installed", hint="pip install 'openenv[docker]'") from None
    where = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if where.startswith("unix://") and not os.path.exists(where.removeprefix("unix://")):
        raise CliError(f"no Docker engine reachable at {where} (no such socket)", hint=NO_ENGINE_HINT)
    # A fixed API version: the client then does not talk to the engine before `ping` (engines since
    # Docker 20.10 speak it), so a failed connection can be closed here instead of leaking a socket.
    client = docker.from_env(version=API_VERSION, timeout=int(max(1, timeout_s)))
    try:
        client.ping()
    except (DockerException, RequestException, OSError) as exc:
        client.close()
        reason = " ".join(str(exc).split())[:200]
        raise CliError(f"no Docker engine reachable at {where} ({reason})", hint=NO_ENGINE_HINT) from None
    return client
