"""FastAPI application of the notes environment (0.10 template style).

uvicorn server.app:app --host 127.0.0.1 --port 8000
"""

import os

from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.mcp_types import CallToolAction, CallToolObservation

try:
    from .notes_environment import NotesEnvironment
except ImportError:
    from server.notes_environment import NotesEnvironment

app = create_app(
    NotesEnvironment,
    CallToolAction,
    CallToolObservation,
    env_name="notes_mcp_env",
    max_concurrent_envs=int(os.environ.get("MAX_CONCURRENT_ENVS", "8")),
)
