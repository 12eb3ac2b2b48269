"""OpenEnv: typed, isolated RL environments over WebSocket/HTTP.

Public names: the data types (`Action`, `Observation`, `State`, `StepResult`, the MCP tool actions),
the clients (`EnvClient`, `GenericEnvClient`) and the error tree (`openenv.errors`). The server
runtime lives in `openenv.server`.
"""

from openenv._version import __version__
from openenv.client import EnvClient, GenericEnvClient, GenericSyncEnvClient, SyncEnvClient
from openenv.errors import (
    OpenEnvError,
    RemoteError,
    SessionLostError,
    TransportError,
)
from openenv.types import (
    Action,
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
    Observation,
    State,
    StepResult,
    Tool,
    ToolError,
)

__all__ = [
    "Action",
    "CallToolAction",
    "CallToolObservation",
    "EnvClient",
    "GenericEnvClient",
    "GenericSyncEnvClient",
    "ListToolsAction",
    "ListToolsObservation",
    "Observation",
    "OpenEnvError",
    "RemoteError",
    "SessionLostError",
    "State",
    "StepResult",
    "SyncEnvClient",
    "Tool",
    "ToolError",
    "TransportError",
    "__version__",
]
