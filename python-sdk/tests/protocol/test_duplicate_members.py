"""OE-GEN-014: a client frame that repeats a member name is INVALID_JSON, at any depth; frames
without repeats pass, whether or not their strings contain colons (the check's slow path)."""

from __future__ import annotations

import pytest
from openenv.protocol.codes import ErrorCode, Mode
from openenv.protocol.errors import FrameError
from openenv.protocol.frames import check_duplicate_members, decode_client_frame


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ('{"type":"reset","type":"state"}', "type"),
        ('{"type":"step","data":{"direction":"up","direction":"down"}}', "direction"),
        ('{"type":"step","data":{"items":[{"a":1},{"b":2,"b":3}]}}', "b"),
        ('{"type":"step","data":{"code":"x: 1","code":"y: 2"}}', "code"),  # colons in strings too
        ('{"type":"step","data":{"a":"\\u003a\\u003a","a":1}}', "a"),  # colons spelled as escapes
        ('{"type":"step","data":{"k":"a:b:c","k":"z"}}', "k"),  # the dropped value held the colons
    ],
)
@pytest.mark.parametrize("kind", [str, bytes, memoryview])
def test_repeated_member_is_invalid_json(raw: str, name: str, kind: type) -> None:
    data = raw if kind is str else kind(raw.encode())
    with pytest.raises(FrameError) as info:
        decode_client_frame(data, Mode.V1)
    assert info.value.code is ErrorCode.INVALID_JSON
    assert f"duplicate member name '{name}'" in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"step","data":{"direction":"up","amount":3}}',
        '{"type":"step","data":{"code":"def f(x):\\n    return {\'a\': x}","url":"http://h:1/p"}}',
        '{"type":"step","data":{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}}',  # same name, other objects
        '{"type":"reset","data":{}}',
    ],
)
def test_frames_without_repeats_pass(raw: str) -> None:
    frame = decode_client_frame(raw.encode(), Mode.V1)
    assert frame.type in ("step", "reset")


def test_fast_path_needs_no_second_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without repeats the colon counts alone decide, strings with colons included."""
    import openenv.protocol.frames as frames

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(frames.json, "loads", boom)
    check_duplicate_members(b'{"a":{"b":[{"c":1}]},"u":"http://h:1"}', {"a": {"b": [{"c": 1}]}, "u": "http://h:1"})
    check_duplicate_members('{"code":"def f():\\n  return 1"}', {"code": "def f():\n  return 1"})
