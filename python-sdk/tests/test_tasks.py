"""`openenv.tasks`: loading (JSON Lines without `datasets`), validation with row-level errors,
seeded picks, and the Task API answers in 0.10's shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openenv.tasks import Task, Taskset, TasksetError, load_taskset, task_api

ROWS = [
    {"id": "a", "split": "train", "prompt": "pa", "success": {"answer": 1}},
    {"id": 2, "prompt": "pb", "initial_state": '{"board": [1, 2]}'},
    {"id": "c", "split": "test", "prompt": "pc", "metadata": {"level": 3}},
]


def write(tmp_path: Path, rows: list[object], name: str = "tasks.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    return path


def test_load_jsonl_and_read_back(tmp_path: Path) -> None:
    tasks = load_taskset(write(tmp_path, ROWS))
    assert len(tasks) == 3 and tasks.name == "tasks" and tasks.splits() == ["train", "test"]
    assert tasks.get("2") == Task("2", "train", "pb", {"board": [1, 2]}, {}, {})
    assert [t.id for t in tasks.tasks("train")] == ["a", "2"]
    assert tasks.get("a").public() == {"id": "a", "split": "train", "prompt": "pa", "initial_state": {}, "metadata": {}}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"prompt": "no id"}], "row 1: 'id' must be a string"),
        ([{"id": "x"}, {"id": "x"}], "duplicate task id 'x'"),
        ([{"id": "x", "success": [1]}], "row 1: 'success' must be an object"),
        ([{"id": "x", "split": 3}], "'split' must be a string"),
        (["not an object"], "a row must be a JSON object"),
    ],
)
def test_bad_rows_name_the_row_and_field(tmp_path: Path, rows: list[object], message: str) -> None:
    with pytest.raises(TasksetError, match=message):
        load_taskset(write(tmp_path, rows))


def test_missing_files_and_unknown_names_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(TasksetError):
        load_taskset(tmp_path / "absent.jsonl")
    with pytest.raises(TasksetError):
        load_taskset(tmp_path / "absent.parquet")


def test_pick_by_id_split_and_seed() -> None:
    tasks = Taskset([Task(f"t{i}", "train" if i < 8 else "test") for i in range(10)], name="demo")
    assert tasks.pick("t9").id == "t9" and tasks.pick().id == "t0"
    by_seed = [tasks.pick(split="train", seed=s).id for s in range(40)]
    assert by_seed == [tasks.pick(split="train", seed=s).id for s in range(40)]  # reproducible
    assert len(set(by_seed)) > 3 and all(t in {f"t{i}" for i in range(8)} for t in by_seed)
    with pytest.raises(TasksetError, match="not 'train'"):
        tasks.pick("t9", split="train")
    with pytest.raises(TasksetError, match="unknown split"):
        tasks.pick(split="dev")
    with pytest.raises(TasksetError, match="unknown task id"):
        tasks.get("zz")


def test_task_api_shapes_and_errors() -> None:
    tasks = Taskset([Task("a", "train", "pa", success={"secret": 1}), Task("b", "test")], name="demo")
    assert task_api(tasks, "splits", {}) == (
        200,
        [{"name": "train", "type": "split"}, {"name": "test", "type": "split"}],
    )
    status, body = task_api(tasks, "tasks", {"split": "train"})
    assert status == 200 and body["env_name"] == "demo" and body["tasks"][0]["id"] == "a"
    assert "success" not in body["tasks"][0]
    assert task_api(tasks, "num_tasks", {}) == (200, {"num_tasks": 2})
    assert task_api(tasks, "task", {"index": 1})[1]["task"]["id"] == "b"
    assert task_api(tasks, "task", {"index": 2}) == (400, {"detail": "Invalid task index"})
    assert task_api(tasks, "task", {"index": "1"})[0] == 400
    assert [t["id"] for t in task_api(tasks, "task_range", {"start": 1})[1]["tasks"]] == ["b"]
    assert task_api(tasks, "tasks", {"split": "dev"})[0] == 400
    assert task_api(tasks, "nope", {})[0] == 404
