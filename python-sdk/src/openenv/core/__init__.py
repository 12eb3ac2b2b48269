"""`openenv.core`: the public API of `openenv==0.10.0`, served by this runtime.

Environment packages and clients written for 0.10 import from here unchanged: the server side
(`openenv.core.env_server`: `Environment`, `Action`, `Observation`, `State`, `MCPEnvironment`, the MCP
actions, `create_app`, ...), the clients (`EnvClient`, `SyncEnvClient`, `GenericEnvClient`,
`MCPToolClient`, `StepResult`) and the rubric base class (`openenv.core.rubrics.Rubric`). The
environment runs on our runtime (`openenv.server`); what differs from 0.10 is listed in
`docs/compat.md` and checked name by name against the real package by `tests/core/`.
"""

from openenv.core import env_server
from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server import *  # noqa: F403
from openenv.core.env_server import __all__ as _server_all
from openenv.core.generic_client import GenericAction, GenericEnvClient
from openenv.core.mcp_client import MCPClientBase, MCPToolClient
from openenv.core.sync_client import SyncEnvClient

__all__ = [
    "EnvClient",
    "GenericAction",
    "GenericEnvClient",
    "MCPClientBase",
    "MCPToolClient",
    "StepResult",
    "SyncEnvClient",
    "env_server",
    *_server_all,
]
