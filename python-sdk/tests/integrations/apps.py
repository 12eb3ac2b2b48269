"""The environment the TRL tests train against, served in a child process by `openenv serve
tests.integrations.apps:digits` (the real runtime over loopback).

`DigitsEnv`: a task names a hidden target digit that only the server knows; the one step's action
is the model's completion text, and the reward is the share of its characters equal to the target
(0.0 for an empty text); sync methods (they run on the session's worker thread). Every scored step
is appended as a JSON line (session's episode id, task, text, reward) to the file named by
`OPENENV_TEST_LEDGER`, so a test can check that the rewards the trainer saw are the ones this
server computed.
"""

from __future__ import annotations

import json
import os
import uuid

from openenv import Action, Observation
from openenv.server import Environment, create_app
from pydantic import Field

HIDDEN_TARGETS = {"sevens": "7", "threes": "3"}


class TextAction(Action):
    text: str = Field(max_length=4096)


class PromptObservation(Observation):
    prompt: str


class DigitsEnv(Environment):
    action_type = TextAction
    observation_type = PromptObservation

    def __init__(self) -> None:
        self.task = "sevens"
        self.episode = ""

    def reset(
        self, seed: int | None = None, episode_id: str | None = None, task_id: str | None = None
    ) -> PromptObservation:
        self.task = task_id if task_id in HIDDEN_TARGETS else "sevens"
        self.episode = episode_id or uuid.uuid4().hex
        return PromptObservation(prompt=f"task {self.task}")

    def step(self, action: TextAction) -> PromptObservation:
        target = HIDDEN_TARGETS[self.task]
        text = action.text
        reward = sum(ch == target for ch in text) / len(text) if text else 0.0
        ledger = os.environ.get("OPENENV_TEST_LEDGER")
        if ledger:
            with open(ledger, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps({"episode": self.episode, "task": self.task, "text": text, "reward": reward}) + "\n"
                )
        return PromptObservation(prompt=f"task {self.task}", reward=reward, terminated=True)


digits = create_app(DigitsEnv, name="digits_env", max_sessions=64)
