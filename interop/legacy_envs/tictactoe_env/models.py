"""Data models of the tic-tac-toe environment (0.10 template style)."""

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field


class MoveAction(Action):
    """Place the agent's mark (X) on a cell."""

    row: int = Field(..., ge=0, le=2, description="Row 0..2")
    col: int = Field(..., ge=0, le=2, description="Column 0..2")


class TicTacToeObservation(Observation):
    """The board after the agent's move and the opponent's reply."""

    board: list[str] = Field(default_factory=lambda: [" "] * 9, description="Cells row by row: X, O or space")
    legal_moves: list[int] = Field(default_factory=list, description="Free cells (row * 3 + col)")
    winner: str | None = Field(default=None, description="X, O, draw, or None while playing")
    message: str = Field(default="", description="What happened")


class TicTacToeState(State):
    """Episode state: the board and whose turn it is."""

    board: list[str] = Field(default_factory=lambda: [" "] * 9)
    seed: int | None = None
