"""The runtime owns the episode record (OE-GEN-005, -006, -018, -019), whatever the environment reports.

Environments here are written the way authors write them: the first is the SDK guide's `LineEnv`
as it stood before the runtime kept the books (its `state()` fails before `reset`), which must now
certify with no edits.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import httpx
import pytest
from openenv import Action, Observation, State
from openenv.server import Environment, MCPEnvironment, tool
from openenv_conformance.runner import run_suite

from tests.conftest import Serve
from tests.wire import Peer


class MoveAction(Action):
    direction: Literal["left", "right"]
    amount: int


class LineObservation(Observation):
    position: int


class VerbatimLineEnv(Environment):
    """The guide's environment as users copied it: no state before reset, its own counters."""

    action_type = MoveAction
    observation_type = LineObservation

    async def reset(self, seed: int | None = None, episode_id: str | None = None) -> LineObservation:
        self.position, self.steps, self.episode_id = 0, 0, episode_id
        return LineObservation(position=0)

    async def step(self, action: MoveAction) -> LineObservation:
        self.steps += 1
        self.position += action.amount if action.direction == "right" else -action.amount
        return LineObservation(
            position=self.position, reward=0.0, terminated=abs(self.position) >= 10, truncated=self.steps >= 50
        )

    async def state(self) -> State:
        return State(episode_id=self.episode_id, step_count=self.steps)


class ForgetfulEnv(Environment):
    """Reports a wrong episode id and never counts steps; adds a member of its own."""

    action_type = MoveAction
    observation_type = LineObservation

    def reset(self) -> LineObservation:
        return LineObservation(position=0)

    def step(self, action: MoveAction) -> LineObservation:
        return LineObservation(position=action.amount)

    def state(self) -> State:
        return State(episode_id="not-the-episode", step_count=0, colour="blue")  # type: ignore[call-arg]


class RequiredState(State):
    board: str


class RequiredStateEnv(Environment):
    """Its state model has a required member: only the environment can answer before reset."""

    action_type = MoveAction
    observation_type = LineObservation
    state_type = RequiredState
    calls = 0

    def reset(self) -> LineObservation:
        return LineObservation(position=0)

    def step(self, action: MoveAction) -> LineObservation:
        return LineObservation(position=0)

    def state(self) -> RequiredState:
        type(self).calls += 1
        return RequiredState(board="empty")


class ToolEnv(MCPEnvironment):
    @tool
    def add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b


def right(amount: int = 1) -> dict[str, Any]:
    return {"type": "step", "data": {"direction": "right", "amount": amount}}


def test_verbatim_guide_env_certifies(serve: Serve) -> None:
    server = serve(VerbatimLineEnv, name="line_env")
    report = run_suite(server.base_url, profiles="all")
    failing = [f"{c.id}: {c.message}" for c in report.failing_musts()]
    assert not failing, failing
    outcomes = {c.id: c.outcome.value for c in report.cases}
    for check_id in ("v1.episode.not_started", "http.state", "core.state.before_reset", "http.state.fresh"):
        assert outcomes[check_id] == "PASS", (check_id, outcomes[check_id])


@pytest.mark.parametrize("v1", [False, True])
def test_state_before_reset_is_answered_by_the_runtime(serve: Serve, v1: bool) -> None:
    server = serve(VerbatimLineEnv)
    with Peer(server.ws_url, v1=v1) as peer:
        reply = peer.ask({"type": "state"})
        assert reply["type"] == "state"
        assert reply["data"] == {"episode_id": None, "step_count": 0}
    body = httpx.get(f"{server.base_url}/state").json()
    assert body == {"episode_id": None, "step_count": 0}


def test_runtime_values_win_over_the_environments(serve: Serve) -> None:
    server = serve(ForgetfulEnv)
    with Peer(server.ws_url) as peer:
        assert peer.ask({"type": "reset", "data": {"episode_id": "ep-7"}})["type"] == "observation"
        for n in range(1, 4):
            assert peer.ask(right())["type"] == "observation"
            state = peer.ask({"type": "state"})["data"]
            assert state == {"episode_id": "ep-7", "step_count": n, "colour": "blue"}
        assert peer.ask({"type": "step", "data": {"direction": "up"}})["type"] == "error"
        assert peer.ask({"type": "state"})["data"]["step_count"] == 3  # errors do not count
        peer.ask({"type": "reset"})
        state = peer.ask({"type": "state"})["data"]
        assert state["step_count"] == 0
        generated = state["episode_id"]
        assert uuid.UUID(generated)  # a fresh server-generated id (OE-GEN-019)
        peer.ask(right())
        assert peer.ask({"type": "state"})["data"]["episode_id"] == generated  # stable in the episode
        peer.ask({"type": "reset"})
        assert peer.ask({"type": "state"})["data"]["episode_id"] != generated


def test_episode_id_accepted_even_when_reset_does_not_name_it(serve: Serve) -> None:
    server = serve(ForgetfulEnv)  # reset() takes no parameters
    with Peer(server.ws_url, v1=True) as peer:
        reply = peer.ask({"type": "reset", "id": 1, "data": {"episode_id": "mine"}})
        assert reply["type"] == "observation", reply
        assert peer.ask({"type": "state", "id": 2})["data"]["episode_id"] == "mine"
        refused = peer.ask({"type": "reset", "id": 3, "data": {"seed": 3}})
        assert refused["type"] == "error" and refused["data"]["code"] == "VALIDATION_ERROR"


def test_required_state_members_ask_the_environment(serve: Serve) -> None:
    server = serve(RequiredStateEnv)
    RequiredStateEnv.calls = 0
    with Peer(server.ws_url) as peer:
        state = peer.ask({"type": "state"})["data"]
        assert state == {"episode_id": None, "step_count": 0, "board": "empty"}
    assert RequiredStateEnv.calls == 1


def test_tool_steps_count_and_json_rpc_calls_do_not(serve: Serve) -> None:
    server = serve(ToolEnv)
    with Peer(server.ws_url) as peer:
        peer.ask({"type": "reset"})
        call = {"type": "step", "data": {"type": "call_tool", "tool_name": "add", "arguments": {"a": 1, "b": 2}}}
        assert peer.ask(call)["type"] == "observation"
        rpc = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 1}},
        }
        assert peer.ask({"type": "mcp", "data": rpc})["data"]["result"]["structuredContent"] == {"result": 2}
        assert peer.ask({"type": "state"})["data"]["step_count"] == 1
