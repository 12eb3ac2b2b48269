"""Tasksets: tasks as dataset rows, with stable ids, splits and seeded sampling (RFC 0006).

Contract:

* A `Task` is one row: `id` (stable, unique in its taskset), `split`, `prompt`, `initial_state`
  (an object the environment starts from), `success` (the criteria it scores against — e.g. a
  hidden test suite; never sent to clients by the Task API) and `metadata`. Schema:
  `schemas/Task.schema.json`.
* `load_taskset(source, split=None)` reads rows with Hugging Face `datasets` (`load_dataset`):
  a local `.parquet`, `.jsonl`/`.json` or `.csv` file (or a directory of them), or a dataset name,
  which `datasets` resolves on its hub (not reachable from this repository's CI). Without
  `datasets` installed, a local `.jsonl` file is read with the standard library, with the same
  result. Rows are validated; a bad row is a `TasksetError` naming the source, the row and the
  field. At most `MAX_TASKS` rows.
* `Taskset.get(task_id)`, `.splits()`, `.tasks(split)`, and `.pick(task_id=None, split=None,
  seed=None)`: the task for `reset` — the named one, else one drawn from the split (or all tasks)
  by `seed` (the same seed and taskset give the same task, in any process), else the first.
* `task_api(taskset, path, body)` answers the Task API routes 0.10 serves (`GET /{env}/splits`,
  `POST /{env}/tasks|num_tasks|task|task_range`) with 0.10's shapes and status codes; the server
  runtime mounts it for an environment that sets `taskset`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openenv.errors import LocalError

MAX_TASKS = 1_000_000
MAX_ID_LENGTH = 256
PUBLIC_FIELDS = ("id", "split", "prompt", "initial_state", "metadata")
"""What the Task API shows of a task (`success` stays on the server)."""

__all__ = ["MAX_TASKS", "Task", "Taskset", "TasksetError", "load_taskset", "task_api"]


class TasksetError(LocalError):
    """A taskset could not be loaded, or a task was not found."""


@dataclass(frozen=True, slots=True)
class Task:
    """One task (see the module docstring)."""

    id: str
    split: str = "train"
    prompt: str = ""
    initial_state: dict[str, Any] = field(default_factory=dict)
    success: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The task as the Task API shows it (no `success`)."""
        return {name: getattr(self, name) for name in PUBLIC_FIELDS}

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str, default_split: str) -> Task:
        task_id = row.get("id", row.get("task_id"))
        if isinstance(task_id, int) and not isinstance(task_id, bool):
            task_id = str(task_id)
        if not isinstance(task_id, str) or not 0 < len(task_id) <= MAX_ID_LENGTH:
            raise TasksetError(f"{where}: 'id' must be a string of 1-{MAX_ID_LENGTH} characters")
        split = row.get("split") or default_split
        if not isinstance(split, str):
            raise TasksetError(f"{where}: 'split' must be a string")
        prompt = row.get("prompt") or ""
        if not isinstance(prompt, str):
            raise TasksetError(f"{where}: 'prompt' must be a string")
        objects: dict[str, dict[str, Any]] = {}
        for name in ("initial_state", "success", "metadata"):
            value = row.get(name)
            if isinstance(value, str) and value.strip().startswith("{"):  # parquet/CSV keep objects as JSON text
                try:
                    value = json.loads(value)
                except ValueError:
                    raise TasksetError(f"{where}: '{name}' is not valid JSON") from None
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise TasksetError(f"{where}: '{name}' must be an object")
            objects[name] = value
        return cls(task_id, split, prompt, objects["initial_state"], objects["success"], objects["metadata"])


class Taskset:
    """An ordered, validated collection of tasks with unique ids."""

    def __init__(self, tasks: Iterable[Task], *, name: str = "tasks") -> None:
        self.name = name
        self._tasks: list[Task] = []
        self._by_id: dict[str, Task] = {}
        self._splits: dict[str, list[Task]] = {}
        for task in tasks:
            if task.id in self._by_id:
                raise TasksetError(f"{name}: duplicate task id {task.id!r}")
            if len(self._tasks) >= MAX_TASKS:
                raise TasksetError(f"{name}: more than {MAX_TASKS} tasks")
            self._tasks.append(task)
            self._by_id[task.id] = task
            self._splits.setdefault(task.split, []).append(task)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Any:
        return iter(self._tasks)

    def get(self, task_id: str) -> Task:
        try:
            return self._by_id[task_id]
        except (KeyError, TypeError):
            raise TasksetError(f"unknown task id {task_id!r}") from None

    def splits(self) -> list[str]:
        """Split names, in order of first appearance."""
        return list(self._splits)

    def tasks(self, split: str | None = None) -> list[Task]:
        if split is None:
            return list(self._tasks)
        if split not in self._splits:
            raise TasksetError(f"unknown split {split!r} (splits: {', '.join(self._splits) or 'none'})")
        return list(self._splits[split])

    def pick(self, task_id: str | None = None, split: str | None = None, seed: int | None = None) -> Task:
        """The task for a `reset` (see the module docstring)."""
        if task_id is not None:
            task = self.get(task_id)
            if split is not None and task.split != split:
                raise TasksetError(f"task {task_id!r} is in split {task.split!r}, not {split!r}")
            return task
        pool = self.tasks(split)
        if not pool:
            raise TasksetError("the taskset is empty")
        if seed is None:
            return pool[0]
        digest = hashlib.sha256(f"{self.name}\0{split or ''}\0{seed}".encode()).digest()
        return pool[int.from_bytes(digest[:8], "big") % len(pool)]


def _rows_with_datasets(source: str, split: str | None) -> list[dict[str, Any]]:
    import datasets  # optional dependency

    path = Path(source)
    kinds = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}
    if path.exists():
        files = sorted(p for p in path.iterdir() if p.suffix in kinds) if path.is_dir() else [path]
        if not files or any(p.suffix not in kinds for p in files):
            raise TasksetError(f"{source}: expected .parquet, .jsonl, .json or .csv files")
        loaded = datasets.load_dataset(kinds[files[0].suffix], data_files=[str(p) for p in files], split="train")
    else:
        loaded = datasets.load_dataset(source, split=split or "train")
    if len(loaded) > MAX_TASKS:
        raise TasksetError(f"{source}: more than {MAX_TASKS} rows")
    return [dict(row) for row in loaded]


def _rows_from_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if len(rows) >= MAX_TASKS:
                raise TasksetError(f"{path}: more than {MAX_TASKS} rows")
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise TasksetError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise TasksetError(f"{path}:{number}: a row must be a JSON object")
            rows.append(row)
    return rows


def load_taskset(source: str | Path, *, split: str | None = None, name: str | None = None) -> Taskset:
    """Load a taskset (see the module docstring); `split` is the default for rows without one."""
    text = str(source)
    path = Path(text)
    try:
        rows = _rows_with_datasets(text, split)
    except ImportError:
        if path.suffix != ".jsonl" or not path.is_file():
            raise TasksetError(f"{text}: reading this source needs the 'datasets' package") from None
        rows = _rows_from_jsonl(path)
    except TasksetError:
        raise
    except Exception as exc:  # datasets' own errors: missing file, unreachable hub, bad parquet
        raise TasksetError(f"{text}: {type(exc).__name__}: {exc}") from None
    where = path.name if path.exists() else text
    tasks = [Task.from_row(row, f"{where} row {i + 1}", split or "train") for i, row in enumerate(rows)]
    return Taskset(tasks, name=name or (path.stem if path.exists() else text))


def _index(body: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise TasksetError(f"'{key}' must be an integer")
    return value


def task_api(taskset: Taskset, route: str, body: Mapping[str, Any]) -> tuple[int, Any]:
    """One Task API request (`route` is `splits`, `tasks`, `num_tasks`, `task` or `task_range`):
    `(status, JSON body)` in 0.10's shapes; a bad split or index is a 400 with a `detail`."""
    try:
        if route == "splits":
            return 200, [{"name": name, "type": "split"} for name in taskset.splits()]
        split = body.get("split")
        if split is not None and not isinstance(split, str):
            raise TasksetError("'split' must be a string")
        tasks = taskset.tasks(split)
        if route == "tasks":
            return 200, {"tasks": [t.public() for t in tasks], "env_name": taskset.name}
        if route == "num_tasks":
            return 200, {"num_tasks": len(tasks)}
        if route == "task":
            index = _index(body, "index")
            if index is None or not 0 <= index < len(tasks):
                return 400, {"detail": "Invalid task index"}
            return 200, {"task": tasks[index].public()}
        if route == "task_range":
            start, stop = _index(body, "start", 0), _index(body, "stop", len(tasks))
            return 200, {"tasks": [t.public() for t in tasks[start:stop]]}
    except TasksetError as exc:
        return 400, {"detail": str(exc)}
    return 404, {"detail": f"unknown task route {route!r}"}
