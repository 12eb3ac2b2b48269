"""Client of the tic-tac-toe environment (0.10 template style)."""

from typing import Any

from openenv.core import EnvClient
from openenv.core.client_types import StepResult

from .models import MoveAction, TicTacToeObservation, TicTacToeState


class TicTacToeEnv(EnvClient[MoveAction, TicTacToeObservation, TicTacToeState]):
    """WebSocket client: `with TicTacToeEnv(base_url=...).sync() as env: env.step(MoveAction(row=1, col=1))`."""

    def _step_payload(self, action: MoveAction) -> dict[str, Any]:
        return {"row": action.row, "col": action.col}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[TicTacToeObservation]:
        obs = payload.get("observation", {})
        observation = TicTacToeObservation(
            board=obs.get("board", [" "] * 9),
            legal_moves=obs.get("legal_moves", []),
            winner=obs.get("winner"),
            message=obs.get("message", ""),
            done=payload.get("done", False),
            reward=payload.get("reward"),
            metadata=obs.get("metadata", {}),
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> TicTacToeState:
        return TicTacToeState(**payload)
