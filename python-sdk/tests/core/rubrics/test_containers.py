"""The rubric containers against the real `openenv==0.10.0`, and their errors.

`rubric_scenarios.py` runs the same rubric trees — containers, trajectory rubrics, hooks, sync and
async children, an environment applying its rubric — with 0.10's package (in
`.venv-openenv010`) and with ours, and prints what happened; both must print the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openenv.core.rubrics import Gate, Rubric, RubricDict, RubricList, Sequential, WeightedSum

REPO = Path(__file__).resolve().parents[4]
LEGACY_PYTHON = REPO / ".venv-openenv010" / "bin" / "python"
SCENARIOS = Path(__file__).with_name("rubric_scenarios.py")


def _run(python: Path | str, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run(
        [str(python), str(SCENARIOS)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "never awaited" not in done.stderr, done.stderr[-3000:]
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_rubric_trees_behave_as_in_010(tmp_path: Path) -> None:
    if not LEGACY_PYTHON.exists():
        pytest.skip("the openenv 0.10.0 peer is not installed (make venv-openenv010)")
    theirs, ours = _run(LEGACY_PYTHON, tmp_path), _run(sys.executable, tmp_path)
    assert ours.keys() == theirs.keys()
    assert {name: ours[name] for name in ours if ours[name] != theirs[name]} == {}
    # the comparison is not vacuous: the scenarios reach the behaviour that matters
    assert ours["seq_short_circuit"]["log"] == ["eval c0", "eval c1"]
    assert ours["seq_sync_in_loop"]["awaitable"] and not ours["seq_zero_in_loop"]["awaitable"]
    assert ours["ws_async"]["score"] == 0.25 * 0.5 + 0.25 * 1.0 + 0.5 * 0.25
    assert ours["traj_rewards"] == [0.225, 0.45, 0.9]
    assert ours["ws_bad_sum"] == {"error": "ValueError"}


class Fixed(Rubric):
    def __init__(self, score: float) -> None:
        super().__init__()
        self.score = score

    def forward(self, action: Any, observation: Any) -> float:
        return self.score


def test_plain_functions_are_accepted_as_children_as_in_010() -> None:
    rubric = WeightedSum([Fixed(1.0), lambda action, observation: 0.5], [0.5, 0.5])
    assert rubric(None, None) == 0.75
    assert [name for name, _ in rubric.named_children()] == ["rubric_0"]  # only Rubrics are children
    assert Sequential(lambda a, o: 0.0, Fixed(1.0))(None, None) == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: Sequential(Fixed(1.0), 0.5),  # type: ignore[arg-type]
        lambda: Gate("tests"),  # type: ignore[arg-type]
        lambda: WeightedSum([Fixed(1.0), None], [0.5, 0.5]),  # type: ignore[list-item]
        lambda: RubricList([Fixed(1.0), 3]),  # type: ignore[list-item]
        lambda: RubricDict({"a": 1.0}),  # type: ignore[dict-item]
    ],
)
def test_a_child_that_cannot_be_called_is_refused_when_built(build: Any) -> None:
    with pytest.raises(TypeError, match="expected a Rubric"):
        build()


def test_weighted_sum_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="2 rubrics but 1 weights"):
        WeightedSum([Fixed(1.0), Fixed(0.0)], [1.0])
    with pytest.raises(ValueError, match=r"sum to 1\.0, they sum to 1\.5"):
        WeightedSum([Fixed(1.0), Fixed(0.0)], [1.0, 0.5])


def test_a_rubric_dict_key_never_hides_a_method() -> None:
    games = RubricDict({"keys": Fixed(0.1), "reset": Fixed(0.2), "_hidden": Fixed(0.3), "pong": Fixed(0.4)})
    assert list(games.keys()) == ["keys", "reset", "_hidden", "pong"]  # still the method
    games.reset()  # still the method
    assert games["reset"](None, None) == 0.2
    assert games.get_rubric("_hidden") is games["_hidden"]
    assert games.pong is games["pong"]  # other keys are attributes, as in 0.10
    with pytest.raises(TypeError, match="keys are strings"):
        games[3] = Fixed(0.5)  # type: ignore[index]


def test_an_error_in_a_child_reaches_the_caller_and_leaves_no_score() -> None:
    class Broken(Rubric):
        async def forward(self, action: Any, observation: Any) -> float:
            raise RuntimeError("the judge is down")

    rubric = WeightedSum([Fixed(1.0), Broken()], [0.5, 0.5])
    with pytest.raises(RuntimeError, match="the judge is down"):
        asyncio.run(rubric(None, None))
    assert rubric.last_score is None


def test_list_and_dict_compute_nothing_themselves() -> None:
    with pytest.raises(NotImplementedError, match="index it from a parent"):
        RubricList([Fixed(1.0)])(None, None)
    with pytest.raises(NotImplementedError, match="look one up from a parent"):
        RubricDict({"a": Fixed(1.0)})(None, None)
