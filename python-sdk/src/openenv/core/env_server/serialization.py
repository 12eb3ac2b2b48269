"""0.10's (de)serialisation helpers: actions from JSON objects, observations to the base envelope."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from openenv.core.env_server.mcp_types import CallToolAction, ListToolsAction
from openenv.core.env_server.types import Action, Observation

__all__ = ["deserialize_action", "deserialize_action_with_preprocessing", "serialize_observation"]

_MCP_ACTIONS: dict[str, type[Action]] = {"list_tools": ListToolsAction, "call_tool": CallToolAction}


def _mcp_action(data: dict[str, Any], action_cls: type[Action]) -> Action | None:
    mcp_cls = _MCP_ACTIONS.get(data.get("type"))  # type: ignore[arg-type]
    if mcp_cls is None or not (action_cls is Action or action_cls in _MCP_ACTIONS.values()):
        return None
    return mcp_cls.model_validate(data)


def deserialize_action(action_data: dict[str, Any], action_cls: type[Action]) -> Action:
    """The action for a JSON object (MCP actions recognised by their `type`)."""
    return _mcp_action(action_data, action_cls) or action_cls.model_validate(action_data)


def deserialize_action_with_preprocessing(action_data: dict[str, Any], action_cls: type[Action]) -> Action:
    """As `deserialize_action`, first decoding a JSON-string `arguments` and a string `action_id`."""
    data = dict(action_data)
    if data.get("type") == "call_tool" and isinstance(data.get("arguments"), str):
        with contextlib.suppress(ValueError):
            data["arguments"] = json.loads(data["arguments"])
    if isinstance(data.get("action_id"), str):
        with contextlib.suppress(ValueError):
            data["action_id"] = int(data["action_id"])
    return deserialize_action(data, action_cls)


def serialize_observation(observation: Observation) -> dict[str, Any]:
    """0.10's envelope data: `observation` (fields minus reward/done), `reward`, `done`, `metadata`."""
    body = observation.model_dump(exclude={"reward", "done", "terminated", "truncated"})
    result: dict[str, Any] = {"observation": body, "reward": observation.reward, "done": observation.done}
    if observation.metadata:
        result["metadata"] = observation.metadata
    return result
