"""Tic-tac-toe: a typed game environment in openenv 0.10's template layout."""

from .client import TicTacToeEnv
from .models import MoveAction, TicTacToeObservation, TicTacToeState

__all__ = ["MoveAction", "TicTacToeEnv", "TicTacToeObservation", "TicTacToeState"]
