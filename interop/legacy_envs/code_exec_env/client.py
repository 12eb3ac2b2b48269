"""Client of the code executor environment (0.10 template style)."""

from typing import Any

from openenv.core import EnvClient
from openenv.core.client_types import StepResult
from openenv.core.env_server.types import State

from .models import CodeAction, CodeObservation


class CodeExecEnv(EnvClient[CodeAction, CodeObservation, State]):
    """WebSocket client: `env.step(CodeAction(code="print(1 + 1)"))`."""

    def _step_payload(self, action: CodeAction) -> dict[str, Any]:
        return {"code": action.code}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[CodeObservation]:
        obs = payload.get("observation", {})
        observation = CodeObservation(
            stdout=obs.get("stdout", ""),
            stderr=obs.get("stderr", ""),
            exit_code=obs.get("exit_code", 0),
            done=payload.get("done", False),
            reward=payload.get("reward"),
            metadata=obs.get("metadata", {}),
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> State:
        return State(**payload)
