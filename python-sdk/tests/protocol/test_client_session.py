"""The client-role state machine, without I/O: request frames, reply matching, v1 hello and ids."""

from __future__ import annotations

import orjson
import pytest
from openenv.errors import EpisodeEndedError, RemoteError, RemoteProtocolError, UnknownTypeError
from openenv.protocol import Mode
from openenv.protocol.client import ClientSession, parse_observation

OBS = {"observation": {"metadata": {}}, "reward": 1, "done": False}


def test_base_requests_match_010_frames() -> None:
    core = ClientSession.after_handshake(None)
    assert core.mode is Mode.BASE
    assert orjson.loads(core.request("reset", {"seed": 1})) == {"type": "reset", "data": {"seed": 1}}
    assert core.request("state") == '{"type":"state"}'
    assert ClientSession.close_frame() == '{"type":"close"}'
    outcome = core.receive(orjson.dumps({"type": "observation", "data": OBS}))
    assert outcome is not None and outcome.kind == "observation"
    assert core.receive('{"type":"state","data":{"episode_id":null,"step_count":0}}') is not None
    assert core.in_flight == 0


def test_v1_hello_and_ids() -> None:
    core = ClientSession.after_handshake("openenv.v1")
    assert core.awaiting_hello
    assert (
        core.receive(
            '{"type":"session","data":{"session_id":"abc","protocol":"openenv.v1","limits":{"max_sessions":2}}}'
        )
        is None
    )
    assert core.session_id == "abc" and core.limits == {"max_sessions": 2}
    first = orjson.loads(core.request("reset"))
    second = orjson.loads(core.request("state"))
    assert (first["id"], second["id"]) == (1, 2)
    with pytest.raises(RemoteProtocolError, match="does not match"):
        core.receive(
            orjson.dumps({"type": "observation", "id": 7, "data": {**OBS, "terminated": False, "truncated": False}})
        )


def test_errors_become_typed_exceptions() -> None:
    core = ClientSession.after_handshake(None)
    core.request("step", {})
    with pytest.raises(UnknownTypeError):
        core.receive('{"type":"error","data":{"message":"Unknown message type: x","code":"UNKNOWN_TYPE"}}')
    core.request("step", {})
    with pytest.raises(RemoteError) as unknown:
        core.receive('{"type":"error","data":{"message":"m","code":"FUTURE_CODE"}}')
    assert type(unknown.value) is RemoteError and unknown.value.code == "FUTURE_CODE"
    v1 = ClientSession(Mode.V1)
    v1.request("step", {})
    with pytest.raises(EpisodeEndedError):
        v1.receive('{"type":"error","id":1,"data":{"message":"ended","code":"EPISODE_ENDED"}}')


@pytest.mark.parametrize(
    "frame",
    [
        "[1]",
        '{"type":"observation"}',
        '{"type":"session","data":{"session_id":"x"}}',
        '{"type":"state","data":{}}',
        '{"type":"observation","id":1,"data":{}}',
        "{oops",
    ],
)
def test_protocol_violations(frame: str) -> None:
    core = ClientSession.after_handshake(None)
    core.request("reset")
    with pytest.raises(RemoteProtocolError):
        core.receive(frame)


def test_parse_observation_modes() -> None:
    base = parse_observation({**OBS, "reward": True, "done": True}, Mode.BASE)
    assert (base.reward, base.terminated, base.truncated) == (1.0, True, False)
    v1 = parse_observation({**OBS, "done": True, "terminated": False, "truncated": True}, Mode.V1)
    assert v1.truncated and not v1.terminated
    with pytest.raises(RemoteProtocolError):
        parse_observation({**OBS, "done": True, "terminated": False, "truncated": False}, Mode.V1)
    with pytest.raises(RemoteProtocolError):
        parse_observation({**OBS, "reward": "high"}, Mode.BASE)
    with pytest.raises(RemoteProtocolError):
        ClientSession.after_handshake("openenv.v9")
