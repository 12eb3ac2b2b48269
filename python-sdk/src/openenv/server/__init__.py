"""Server runtime: the `Environment` base class, `create_app` (ASGI) and `run` (uvicorn)."""

from openenv.server.app import OpenEnvApp, create_app
from openenv.server.config import ServerConfig
from openenv.server.environment import Environment
from openenv.server.faults import EnvironmentFault
from openenv.server.runner import load_app, run
from openenv.server.tools import MCPEnvironment
from openenv.server.toolspec import tool

__all__ = [
    "Environment",
    "EnvironmentFault",
    "MCPEnvironment",
    "OpenEnvApp",
    "ServerConfig",
    "create_app",
    "load_app",
    "run",
    "tool",
]
