"""Small environments with per-session "files" for the `isolation.session_files` check.

`private_app` keeps each session's files in its own `Environment` instance (correct);
`shared_app` keeps them in one class-level dict, so every session sees and overwrites the others'
(the bug the check exists to catch); `blind_app` declares a recipe whose read shows nothing, not
even the session's own marker (an unusable recipe). All three declare the recipe in the
`x-openenv-session-files` annotation of their action schema. Served by `openenv serve` in tests.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from openenv import Action, Observation, State
from openenv.server import Environment, create_app
from pydantic import ConfigDict, Field

MAX_FILES = 64


class FileAction(Action):
    """Write one named file, or read them all."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-openenv-session-files": {
                "write": {"op": "write", "name": "marker.txt", "text": "{marker}"},
                "read": {"op": "read"},
            }
        }
    )

    op: Literal["write", "read"]
    name: str = Field(default="marker.txt", max_length=64)
    text: str = Field(default="", max_length=1024)


class FileObservation(Observation):
    files: dict[str, str] = Field(default_factory=dict)


class PrivateFilesEnv(Environment):
    """Files per instance (one instance per session)."""

    action_type = FileAction
    observation_type = FileObservation
    state_type = State

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._steps = 0

    def store(self) -> dict[str, str]:
        return self._files

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> FileObservation:
        self._steps = 0
        return FileObservation()

    def step(self, action: FileAction) -> FileObservation:
        self._steps += 1
        files = self.store()
        if action.op == "write" and (action.name in files or len(files) < MAX_FILES):
            files[action.name] = action.text
            return FileObservation(reward=0.0)
        return FileObservation(files=self.visible(files), reward=0.0)

    def visible(self, files: dict[str, str]) -> dict[str, str]:
        return dict(files)

    def state(self) -> State:
        return State(step_count=self._steps)


class SharedFilesEnv(PrivateFilesEnv):
    """The bug: one dict for every session."""

    shared: ClassVar[dict[str, str]] = {}

    def store(self) -> dict[str, str]:
        return SharedFilesEnv.shared


class BlindFilesEnv(PrivateFilesEnv):
    """Keeps files but its declared read shows none."""

    def visible(self, files: dict[str, str]) -> dict[str, str]:
        return {}


private_app = create_app(PrivateFilesEnv)
shared_app = create_app(SharedFilesEnv)
blind_app = create_app(BlindFilesEnv)
