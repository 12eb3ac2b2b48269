"""FastAPI application of the tic-tac-toe environment (0.10 template style).

uvicorn server.app:app --host 127.0.0.1 --port 8000
"""

import os

from openenv.core.env_server.http_server import create_app

try:
    from ..models import MoveAction, TicTacToeObservation, TicTacToeState
    from .tictactoe_environment import TicTacToeEnvironment
except ImportError:
    from models import MoveAction, TicTacToeObservation, TicTacToeState
    from server.tictactoe_environment import TicTacToeEnvironment

app = create_app(
    TicTacToeEnvironment,
    MoveAction,
    TicTacToeObservation,
    env_name="tictactoe_env",
    max_concurrent_envs=int(os.environ.get("MAX_CONCURRENT_ENVS", "8")),
    state_cls=TicTacToeState,
)
