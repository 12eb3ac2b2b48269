"""FastAPI application of the code executor environment (0.10 template style).

uvicorn server.app:app --host 127.0.0.1 --port 8000
"""

import os

from openenv.core.env_server.http_server import create_app

try:
    from ..models import CodeAction, CodeObservation
    from .code_exec_environment import CodeExecEnvironment
except ImportError:
    from models import CodeAction, CodeObservation
    from server.code_exec_environment import CodeExecEnvironment

app = create_app(
    CodeExecEnvironment,
    CodeAction,
    CodeObservation,
    env_name="code_exec_env",
    max_concurrent_envs=int(os.environ.get("MAX_CONCURRENT_ENVS", "8")),
)
