"""Server runtime: the `Environment` base class, `create_app` (ASGI), `run` (uvicorn) and
`BackgroundServer` (a server on loopback from a thread, for tests and notebooks).

Layers inside the package, each importing only those below it (pinned by
`tests/server/test_layers.py`): `background` → `runner` → `uvicorn_ws` (the direct `/ws` path) →
`app` (the ASGI router) → `http`, `websocket` (the surfaces) → `mcp.jsonrpc`, `openapi` → `service`
(what the surfaces share: factory, validation, capacity, named sessions, watchdog) →
`mcp.environment`, `registry` → `host`, `capacity` → `environment`, `carrier`, `watchdog` →
`tools`, `asgi` → `faults`, `config`.
"""

from openenv.server.app import OpenEnvApp, create_app
from openenv.server.background import BackgroundServer
from openenv.server.config import ServerConfig
from openenv.server.environment import Environment
from openenv.server.faults import EnvironmentFault, InvalidRequest
from openenv.server.mcp.environment import MCPEnvironment
from openenv.server.runner import load_app, run
from openenv.server.tools import tool

__all__ = [
    "BackgroundServer",
    "Environment",
    "EnvironmentFault",
    "InvalidRequest",
    "MCPEnvironment",
    "OpenEnvApp",
    "ServerConfig",
    "create_app",
    "load_app",
    "run",
    "tool",
]
