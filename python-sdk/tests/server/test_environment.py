"""What an `Environment` class declares and the runtime then does for it: `trajectory_max_steps`
(the runtime records each episode and returns it with the state, OE-RWD-006 … OE-RWD-009) and
`taskset` (the Task API and `/metadata`'s `taskset`, OE-TASK-004, OE-TASK-008). Over the wire, on a
real server on loopback; the attributes are checked when the class is defined."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import jsonschema
import pytest
from openenv import Action, Observation, State
from openenv.server import Environment
from openenv.tasks import Task, Taskset
from pydantic import ConfigDict

from tests.conftest import Serve
from tests.wire import Peer


class Move(Action):
    direction: Literal["left", "right"]


class Position(Observation):
    position: int


class StrictState(State):
    model_config = ConfigDict(extra="forbid")  # the runtime's `trajectory` must be in /schema


class RecordingEnv(Environment[Move, Position, StrictState]):
    """A walk on a line that the runtime records, three steps at most, with two tasks."""

    action_type = Move
    observation_type = Position
    state_type = StrictState
    trajectory_max_steps = 3
    taskset = Taskset([Task("near", "train"), Task("far", "test", initial_state={"start": 5})], name="walks")

    async def reset(self, seed: int | None = None, task_id: str | None = None, **kwargs: Any) -> Position:
        self.task = self.taskset.pick(task_id, kwargs.get("split"), seed)
        self.position = int(self.task.initial_state.get("start", 0))
        return Position(position=self.position, metadata={"task_id": self.task.id, "split": self.task.split})

    async def step(self, action: Move) -> Position:
        self.position += 1 if action.direction == "right" else -1
        return Position(position=self.position, reward=float(self.position))


class PlainEnv(RecordingEnv):
    trajectory_max_steps = None
    taskset = None


def test_the_runtime_records_episodes_of_environments_that_opt_in(serve: Serve) -> None:
    server = serve(RecordingEnv, max_message_bytes=4096)
    with Peer(server.ws_url, v1=True) as peer:
        before = peer.ask({"type": "state"})["data"]
        assert before["trajectory"] == {"steps": [], "max_steps": 3, "dropped": 0}  # no episode yet
        peer.ask({"type": "reset", "data": {"task_id": "far"}})
        for direction in ("right", "right", "left", "left", "right"):
            peer.ask({"type": "step", "data": {"direction": direction}})
        peer.ask({"type": "step", "data": {"direction": "up"}})  # an error: not a step of the record
        state = peer.ask({"type": "state"})["data"]
        assert state["step_count"] == 5
        assert state["trajectory"] == {
            "steps": [
                {"action": {"direction": "left"}, "observation": {"position": 6, "metadata": {}}, "reward": 6.0},
                {"action": {"direction": "left"}, "observation": {"position": 5, "metadata": {}}, "reward": 5.0},
                {"action": {"direction": "right"}, "observation": {"position": 6, "metadata": {}}, "reward": 6.0},
            ],
            "max_steps": 3,
            "dropped": 2,
        }
        with httpx.Client(base_url=server.base_url, trust_env=False) as http:
            schema = http.get("/schema").json()["state"]
            jsonschema.validate(state, schema)  # the published state schema has the record
            assert http.get("/state").json()["trajectory"] == {"steps": [], "max_steps": 3, "dropped": 0}
            meta = http.get("/metadata").json()
        assert meta["capabilities"]["trajectory"] is True and meta["trajectory"] == {"max_steps": 3}
        assert meta["capabilities"]["tasks"] is True
        assert meta["taskset"] == {
            "num_tasks": 2,
            "splits": [{"name": "train", "num_tasks": 1}, {"name": "test", "num_tasks": 1}],
        }


def test_environments_that_do_not_opt_in_get_neither(serve: Serve) -> None:
    server = serve(PlainEnv)
    with Peer(server.ws_url) as peer:
        peer.ask({"type": "reset", "data": {}})
        peer.ask({"type": "step", "data": {"direction": "right"}})
        assert "trajectory" not in peer.ask({"type": "state"})["data"]
    with httpx.Client(base_url=server.base_url, trust_env=False) as http:
        meta = http.get("/metadata").json()
        assert "trajectory" not in http.get("/schema").json()["state"].get("properties", {})
        assert http.get("/walks/splits").status_code == 404 and http.get("/PlainEnv/splits").status_code == 404
    assert meta["capabilities"] == {"mcp": False, "http_simulation": True, "tasks": False}
    assert "taskset" not in meta and "trajectory" not in meta


def test_a_manifest_that_declares_tasks_is_a_promise_the_metadata_repeats(serve: Serve) -> None:
    server = serve(PlainEnv, tasks=True)
    with httpx.Client(base_url=server.base_url, trust_env=False) as http:
        assert http.get("/metadata").json()["capabilities"]["tasks"] is True


@pytest.mark.parametrize("bound", [0, 100_001, True, 2.5, "10"])
def test_a_bad_trajectory_bound_is_refused_when_the_class_is_defined(bound: object) -> None:
    with pytest.raises(TypeError, match="trajectory_max_steps"):
        type("BadEnv", (Environment,), {"trajectory_max_steps": bound})


def test_a_taskset_must_be_a_taskset() -> None:
    with pytest.raises(TypeError, match=r"openenv\.tasks\.Taskset"):
        type("BadEnv", (Environment,), {"taskset": [Task("a")]})
