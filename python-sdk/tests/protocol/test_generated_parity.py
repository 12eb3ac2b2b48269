"""The hand-written protocol constants and public types match the generated wire models.

`openenv._generated` is generated from `schemas/` (`tools/codegen.py --check` keeps it fresh); the
runtime's codec, error codes, frame types, limits and public models are written by hand for speed.
These tests pin every enum and every shared model to the generated code, so a schema change that
the hand-written layer misses fails here.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
from openenv import _generated as generated
from openenv import errors, types
from openenv.protocol import codes, frames
from openenv.server.config import ServerConfig

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return loaded


def frame_types(union: str) -> set[str]:
    """The `type` constants of every member of a frame union schema."""
    found = set()
    for ref in schema(union)["oneOf"]:
        member = schema(ref["$ref"].removesuffix(".schema.json"))
        found.add(member["properties"]["type"]["const"])
    return found


def enum_values(name: str) -> set[str]:
    return {member["const"] for member in schema(name)["oneOf"]}


def test_error_codes_match_the_generated_enum() -> None:
    assert {c.value for c in codes.ErrorCode} == {c.value for c in generated.ErrorCode}
    assert enum_values("ErrorCode") == {c.value for c in generated.ErrorCode}


def test_base_error_codes_match() -> None:
    assert {c.value for c in codes.BASE_ERROR_CODES} == enum_values("BaseErrorCode")
    assert {c.value for c in codes.BASE_ERROR_CODES} == {c.value for c in generated.BaseErrorCode}


def test_every_error_code_has_its_client_exception() -> None:
    by_code = errors.RemoteError._by_code
    assert set(by_code) == {c.value for c in generated.ErrorCode}
    for code, cls in by_code.items():
        assert errors.RemoteError.from_wire({"code": code, "message": "m"}).__class__ is cls


@pytest.mark.parametrize(
    ("hand_written", "unions"),
    [
        (frames.CLIENT_TYPES, ("ClientMessage", "V1ClientMessage")),
        (frames.SERVER_TYPES, ("ServerMessage", "V1ServerMessage")),
    ],
)
def test_frame_types_match(hand_written: tuple[str, ...], unions: tuple[str, ...]) -> None:
    assert set(hand_written) == set().union(*(frame_types(u) for u in unions))


def test_generated_frame_models_carry_the_same_types() -> None:
    literal_types = set()
    for name in dir(generated):
        model = getattr(generated, name)
        fields = getattr(model, "model_fields", {})
        if name.startswith(("Ws", "V1")) and "type" in fields:
            literal_types.update(typing.get_args(fields["type"].annotation))
    assert literal_types == set(frames.CLIENT_TYPES) | set(frames.SERVER_TYPES)


def test_subprotocol_name_matches_the_session_frame() -> None:
    assert schema("SessionData")["properties"]["protocol"]["const"] == codes.SUBPROTOCOL_V1


def test_limits_match() -> None:
    advertised = ServerConfig(name="x").limits()
    assert set(advertised) == set(generated.Limits.model_fields)
    generated.Limits.model_validate(advertised)


def test_state_model_matches() -> None:
    ours = types.State.model_json_schema()["properties"]
    theirs = generated.State.model_fields
    assert set(ours) == set(schema("State")["required"])
    # the runtime adds `trajectory` for environments that record their episodes (OE-RWD-006)
    assert set(theirs) == set(ours) | {"trajectory"} and "trajectory" not in schema("State")["required"]
    generated.State.model_validate(types.State(episode_id="e", step_count=3).model_dump(mode="json"))


def test_tool_and_tool_action_models_match_their_wire_form() -> None:
    call = types.CallToolAction(tool_name="echo", arguments={"m": "x"}).model_dump(mode="json")
    listing = types.ListToolsAction().model_dump(mode="json")
    generated.Action.model_validate(call)
    generated.Action.model_validate(listing)
    assert call["type"] == "call_tool" and listing["type"] == "list_tools"


def test_close_codes_match_the_error_registry() -> None:
    """`CLOSE_CODE_FOR` is the registry table of spec/errors.md (code → close code, `—` = stays open)."""
    table: dict[str, int | None] = {}
    for line in (SCHEMAS.parent / "spec" / "errors.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].strip("`").isupper():
            table[cells[0].strip("`")] = None if cells[4] == "—" else int(cells[4])
    assert set(table) == {c.value for c in codes.ErrorCode}
    assert {c.value: int(v) for c, v in codes.CLOSE_CODE_FOR.items()} == {k: v for k, v in table.items() if v}
