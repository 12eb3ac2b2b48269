"""Tic-tac-toe against a seeded opponent, written against openenv 0.10's `Environment`.

The agent plays X. After each legal move the opponent (O) answers with a random free cell drawn
from the episode's seeded generator. Reward: 1.0 win, 0.0 draw, -1.0 loss, 0.0 while playing; an
illegal move (occupied cell) leaves the board as it is, costs -0.1 and ends nothing. Stepping after
the game ended raises ``RuntimeError`` (an ``EXECUTION_ERROR`` on the wire).
"""

import random
import uuid
from typing import Any

from openenv.core.env_server.interfaces import Environment

try:
    from ..models import MoveAction, TicTacToeObservation, TicTacToeState
except ImportError:
    from models import MoveAction, TicTacToeObservation, TicTacToeState

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def winner_of(board: list) -> str | None:
    for a, b, c in LINES:
        if board[a] != " " and board[a] == board[b] == board[c]:
            return board[a]
    return "draw" if " " not in board else None


class TicTacToeEnvironment(Environment[MoveAction, TicTacToeObservation, TicTacToeState]):
    """Tic-tac-toe: the agent is X, a seeded random opponent is O."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        super().__init__()
        self._state = TicTacToeState(episode_id=str(uuid.uuid4()))
        self._rng = random.Random(0)

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> TicTacToeObservation:
        self._rng = random.Random(seed)
        self._state = TicTacToeState(episode_id=episode_id or str(uuid.uuid4()), step_count=0, seed=seed)
        return self._observe("Your move: you are X.", reward=0.0)

    def step(self, action: MoveAction, timeout_s: float | None = None, **kwargs: Any) -> TicTacToeObservation:
        board = self._state.board
        if winner_of(board) is not None:
            raise RuntimeError("the game is over; call reset()")
        self._state.step_count += 1
        cell = action.row * 3 + action.col
        if board[cell] != " ":
            return self._observe(f"cell ({action.row}, {action.col}) is taken", reward=-0.1)
        board[cell] = "X"
        if winner_of(board) is None:
            board[self._rng.choice([i for i, v in enumerate(board) if v == " "])] = "O"
        result = winner_of(board)
        reward = {"X": 1.0, "O": -1.0, "draw": 0.0}.get(result or "", 0.0)
        return self._observe("game over" if result else "your move", reward=reward)

    def _observe(self, message: str, reward: float) -> TicTacToeObservation:
        board = list(self._state.board)
        result = winner_of(board)
        return TicTacToeObservation(
            board=board,
            legal_moves=[i for i, v in enumerate(board) if v == " "] if result is None else [],
            winner=result,
            message=message,
            done=result is not None,
            reward=reward,
        )

    @property
    def state(self) -> TicTacToeState:
        return self._state
