"""Unit tests of the pure parts: target URLs, expected-failure files, schema-driven generation,
clause levels."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openenv_conformance.actions import invalid_instances, valid_instance
from openenv_conformance.clauses import ClauseIndex
from openenv_conformance.expected import applicable, load_expected_failures
from openenv_conformance.model import Level
from openenv_conformance.paths import clause_index_path
from openenv_conformance.target import Target

LINE_ACTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["direction", "amount"],
    "properties": {
        "metadata": {"type": "object"},
        "direction": {"enum": ["left", "right"], "type": "string"},
        "amount": {"type": "integer", "minimum": 1, "maximum": 5},
        "fail": {"type": "boolean", "default": False},
        "note": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
        "pos": {"$ref": "#/$defs/Pos"},
    },
    "$defs": {"Pos": {"type": "object", "properties": {"x": {"type": "number", "minimum": 2}}}},
}


@pytest.mark.parametrize(
    ("url", "base", "ws"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000", "ws://127.0.0.1:8000/ws"),
        ("http://localhost:9/", "http://localhost:9", "ws://localhost:9/ws"),
        ("ws://h:1/ws", "http://h:1", "ws://h:1/ws"),
        ("https://h/p", "https://h:443/p", "wss://h:443/p/ws"),
    ],
)
def test_target_parse(url: str, base: str, ws: str) -> None:
    target = Target.parse(url)
    assert (target.base_url, target.ws_url()) == (base, ws)


def test_target_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Target.parse("ftp://h:1")


def test_generated_actions_validate_and_invalid_ones_do_not() -> None:
    validator = Draft202012Validator(LINE_ACTION)
    for seed in range(50):
        rng = random.Random(seed)
        value = valid_instance(LINE_ACTION, rng, minimal=seed % 2 == 0)
        assert validator.is_valid(value), value
        assert value.get("fail", False) is False  # optional switches stay at their default
    bad = invalid_instances(LINE_ACTION, random.Random(1))
    assert len(bad) >= 5
    assert all(not validator.is_valid(v) for _, v in bad)


def test_same_seed_same_actions() -> None:
    a = [valid_instance(LINE_ACTION, random.Random(7)) for _ in range(3)]
    b = [valid_instance(LINE_ACTION, random.Random(7)) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("failures:\n  - id: core.nope\n    reason: x\n", "unknown check id"),
        ("failures:\n  - id: core.ws.upgrade\n", "needs 'id' and 'reason'"),
        ("failures:\n  - id: core.ws.upgrade\n    reason: ' '\n", "non-empty"),
        (
            "failures:\n  - {id: core.ws.upgrade, reason: a}\n  - {id: core.ws.upgrade, reason: b}\n",
            "listed twice",
        ),
        ("failurez: []\n", "unknown top-level"),
    ],
)
def test_expected_failures_rejects(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=error):
        load_expected_failures(path, {"core.ws.upgrade"})


def test_expected_failures_when_name(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("failures:\n  - {id: a.b, reason: r1, when_name: EchoEnvironment}\n  - {id: a.c, reason: r2}\n")
    entries = load_expected_failures(path, {"a.b", "a.c"})
    assert applicable(entries, "EchoEnvironment") == {"a.b": "r1", "a.c": "r2"}
    assert applicable(entries, "Other") == {"a.c": "r2"}


def test_expected_failures_when_failing(tmp_path: Path) -> None:
    """A behavioural entry excuses its own failure anywhere, not another one, and is never stale."""
    from openenv_conformance.expected import expectation

    path = tmp_path / "x.yaml"
    path.write_text('failures:\n  - {id: a.b, reason: r1, when_failing: true, match: "^seed inf"}\n')
    entries = load_expected_failures(path, {"a.b"})
    assert applicable(entries, "Any") == {}  # nothing is required to fail
    assert expectation(entries, "a.b", "Any", "seed inf reached the env", failed=True) == ("r1", None)
    reason, note = expectation(entries, "a.b", "Any", "something else", failed=True)
    assert reason is None and note is not None and "failed otherwise" in note
    assert expectation(entries, "a.b", "Any", "", failed=False) == (None, None)  # passes: not stale
    for bad in (
        "{id: a.b, reason: r, when_failing: true}",
        "{id: a.b, reason: r, when_failing: true, match: x, when_name: E}",
    ):
        path.write_text(f"failures:\n  - {bad}\n")
        with pytest.raises(ValueError, match="when_failing: true needs match and no when_name"):
            load_expected_failures(path, {"a.b"})


def test_levels_come_from_the_clause_index() -> None:
    index = ClauseIndex.load(clause_index_path())
    must = next(c.id for c in index.clauses.values() if c.level is Level.MUST)
    should = next(c.id for c in index.clauses.values() if c.level is Level.SHOULD)
    assert index.level_of([should]) is Level.SHOULD
    assert index.level_of([should, must]) is Level.MUST
    assert index.level_of(["OE-NOPE-999"]) is None


def test_schemathesis_leaves_out_what_the_spec_does_not_cover() -> None:
    import re

    from openenv_conformance.checks.http import out_of_scope_paths

    plain = re.compile(out_of_scope_paths({}))
    assert all(plain.search(p) for p in ("/web", "/web/", "/web/state", "/echo_env/tasks", "/echo_env/task_range"))
    assert not any(plain.search(p) for p in ("/reset", "/step", "/state", "/schema", "/mcp", "/websocket"))
    with_tasks = re.compile(out_of_scope_paths({"tasks": True}))
    assert with_tasks.search("/web/x") and not with_tasks.search("/echo_env/tasks")
