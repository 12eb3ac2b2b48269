"""Profile `tasks` (optional): tasksets and the Task API (spec/tasks.md, RFC 0006).

Contract: a server has a taskset when `/metadata` declares it (`capabilities.tasks: true` or a
`taskset` member) or when `GET /{name}/splits` (`name` from `/metadata`) answers a JSON array; the
checks here run only then and are UNIMPLEMENTED otherwise. A declaration the server does not honour
(no Task API) is a FAIL. What they do, each bounded (at most `MAX_TASKS` tasks listed, a few resets):

* `tasks.api.routes` walks the five routes and validates every task against `schemas/Task` (a
  `success` member is leaked criteria, OE-TASK-005); the split listings, counts, `task` and
  `task_range` must agree with the full listing (OE-TASK-004);
* `tasks.api.bad_requests`: unknown split, missing / out-of-range index, a body that is not a JSON
  object → 400 with a `detail` string; a wrong method → 405 (OE-TASK-006);
* `tasks.ids`: ids unique, and two listings name the same tasks in the same order (OE-TASK-001);
* `tasks.reset.by_id`: a reset by each of a few task ids names that task and its split in
  `metadata` (OE-TASK-002, OE-TASK-007), over `/ws` and, where served, `POST /reset`;
* `tasks.reset.unknown`: an unknown `task_id`, or one outside the given split, is an error, never
  another task (OE-TASK-002);
* `tasks.reset.seeded`: a seed without `task_id` gives the same task in two sessions, from the
  split when one is given (OE-TASK-003, SHOULD);
* `tasks.metadata`: `/metadata` declares the taskset, and its `taskset` member agrees with the
  Task API (OE-TASK-008).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from openenv_conformance.checks._common import disc, open_conn, reset_frame
from openenv_conformance.context import CaseContext, Conn, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

MAX_TASKS = 10_000
"""Tasks the harness lists at most (larger tasksets fail: a listing is one reply)."""
MAX_SPLITS = 16
RESETS = 4
"""Tasks reset by id at most."""
SEEDS = (1, 2, 3)


@dataclass(slots=True)
class Listing:
    """What the Task API said: the route prefix, the splits and every task."""

    prefix: str
    splits: list[str]
    tasks: list[dict[str, Any]]

    def by_split(self, split: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks if t.get("split") == split]


def declared(ctx: CaseContext) -> bool:
    found = disc(ctx)
    return found.declared_capabilities.get("tasks") is True or isinstance(found.declared_taskset, dict)


async def _post(ctx: CaseContext, path: str, body: Any) -> tuple[int, Any]:
    resp = await ctx.http_call("POST", path, json_body=body)
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, None


async def splits_of(ctx: CaseContext) -> tuple[str, list[str]]:
    """The Task API prefix and split names; UNIMPLEMENTED without a taskset, FAIL for a broken
    promise or malformed splits."""
    name = disc(ctx).env_name
    if not name:
        if declared(ctx):
            raise Fail("/metadata declares a taskset but names no environment: no Task API prefix",
                       clauses=["OE-TASK-008"])  # fmt: skip
        raise Unimplemented("/metadata names no environment; no Task API to look for")
    prefix = f"/{name}"
    resp = await ctx.http_call("GET", f"{prefix}/splits")
    try:
        body = resp.json() if resp.status_code == 200 else None
    except ValueError:
        body = None
    if not isinstance(body, list):
        if declared(ctx):
            raise Fail(f"/metadata declares a taskset, but GET {prefix}/splits answers HTTP {resp.status_code} "
                       "without a JSON array", clauses=["OE-TASK-004", "OE-TASK-008"])  # fmt: skip
        raise Unimplemented(f"no taskset: /metadata declares none and GET {prefix}/splits is not served")
    names: list[str] = []
    for item in body[:MAX_SPLITS]:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and item.get("type") == "split"):
            raise Fail(f"GET {prefix}/splits: {json.dumps(item)[:200]} is not {{name, type: 'split'}}",
                       clauses=["OE-TASK-004"])  # fmt: skip
        names.append(item["name"])
    if len(set(names)) != len(names):
        raise Fail(f"GET {prefix}/splits names a split twice: {names}", clauses=["OE-TASK-004"])
    return prefix, names


async def list_tasks(ctx: CaseContext, prefix: str, split: str | None = None) -> list[dict[str, Any]]:
    """`POST {prefix}/tasks` (optionally for one split): the tasks, checked against `Task`."""
    status, body = await _post(ctx, f"{prefix}/tasks", {} if split is None else {"split": split})
    where = f"POST {prefix}/tasks" + (f" (split {split!r})" if split is not None else "")
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
        raise Fail(f"{where} → HTTP {status}, expected 200 with a 'tasks' array", clauses=["OE-TASK-004"])
    if not isinstance(body.get("env_name"), str):
        raise Fail(f"{where}: the reply has no 'env_name' string", clauses=["OE-TASK-004"])
    tasks: list[dict[str, Any]] = body["tasks"]
    if len(tasks) > MAX_TASKS:
        raise Undecided(f"{where}: more than {MAX_TASKS} tasks; the harness does not walk tasksets this large")
    for task in tasks:
        if isinstance(task, dict) and "success" in task:
            raise Fail(f"{where}: task {task.get('id')!r} carries its success criteria ('success')",
                       clauses=["OE-TASK-005"])  # fmt: skip
        errors = ctx.run.schemas.errors("Task", task)
        if errors:
            raise Fail(f"{where}: a task does not match the Task schema: {'; '.join(errors)}", clauses=["OE-TASK-004"])
    return tasks


async def listing(ctx: CaseContext) -> Listing:
    prefix, splits = await splits_of(ctx)
    return Listing(prefix, splits, await list_tasks(ctx, prefix))


def _ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [str(t.get("id")) for t in tasks]


def sample(found: Listing) -> list[dict[str, Any]]:
    """A few tasks to reset by id: the first of each split, then the others in order."""
    chosen: list[dict[str, Any]] = []
    for split in found.splits:
        first = next(iter(found.by_split(split)), None)
        if first is not None and first not in chosen:
            chosen.append(first)
    chosen += [t for t in found.tasks if t not in chosen]
    return chosen[:RESETS]


async def reset_observation(ctx: CaseContext, conn: Conn, what: str, **data: Any) -> dict[str, Any] | None:
    """The `data` of the reply to a reset, or None when the reply is an error frame."""
    frame = await conn.request(reset_frame(ctx, **data), what=what)
    if frame.get("type") == "error":
        return None
    return expect_type(frame, "observation", what)


def named_task(data: dict[str, Any], what: str) -> tuple[Any, Any]:
    """(`metadata.task_id`, `metadata.split`) of an observation; FAIL when it names no task."""
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or "task_id" not in metadata:
        raise Fail(f"{what}: the observation does not name its task in metadata.task_id", clauses=["OE-TASK-007"])
    return metadata.get("task_id"), metadata.get("split")


@check(
    "tasks.api.routes",
    title="the Task API's five routes answer in their shapes, every task a Task without its criteria",
    clauses=["OE-TASK-004", "OE-TASK-005"],
)
async def routes(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    prefix, tasks = found.prefix, found.tasks
    status, body = await _post(ctx, f"{prefix}/num_tasks", {})
    if status != 200 or not isinstance(body, dict) or body.get("num_tasks") != len(tasks):
        raise Fail(f"POST {prefix}/num_tasks → HTTP {status} {json.dumps(body)[:200]}, expected "
                   f"{{'num_tasks': {len(tasks)}}}")  # fmt: skip
    placed = 0
    for split in found.splits:
        part = await list_tasks(ctx, prefix, split)
        if any(t.get("split") != split for t in part) or _ids(part) != _ids(found.by_split(split)):
            raise Fail(f"POST {prefix}/tasks for split {split!r} lists {_ids(part)[:10]}, not that split's tasks "
                       f"{_ids(found.by_split(split))[:10]}")  # fmt: skip
        placed += len(part)
        status, body = await _post(ctx, f"{prefix}/num_tasks", {"split": split})
        if status != 200 or not isinstance(body, dict) or body.get("num_tasks") != len(part):
            raise Fail(f"POST {prefix}/num_tasks for split {split!r} → {json.dumps(body)[:200]}, expected {len(part)}")
    if placed != len(tasks):
        raise Fail(f"the splits of GET {prefix}/splits hold {placed} tasks, the full listing {len(tasks)}")
    if not tasks:
        return "the taskset is empty: routes answered, no task to fetch"
    for index in sorted({0, len(tasks) - 1}):
        status, body = await _post(ctx, f"{prefix}/task", {"index": index})
        if status != 200 or not isinstance(body, dict) or body.get("task") != tasks[index]:
            raise Fail(f"POST {prefix}/task {{index: {index}}} → HTTP {status} {json.dumps(body)[:200]}, "
                       f"expected the listing's task {tasks[index].get('id')!r}")  # fmt: skip
    start, stop = min(1, len(tasks) - 1), min(3, len(tasks))
    status, body = await _post(ctx, f"{prefix}/task_range", {"start": start, "stop": stop})
    if status != 200 or not isinstance(body, dict) or body.get("tasks") != tasks[start:stop]:
        raise Fail(f"POST {prefix}/task_range {{start: {start}, stop: {stop}}} → HTTP {status} "
                   f"{json.dumps(body)[:200]}, expected that slice of the listing")  # fmt: skip
    return f"{len(tasks)} tasks in {len(found.splits)} splits"


@check(
    "tasks.api.bad_requests",
    title="bad Task API requests → 400 with a detail; a wrong method → 405",
    clauses=["OE-TASK-006"],
)
async def bad_requests(ctx: CaseContext) -> str | None:
    prefix, _ = await splits_of(ctx)
    _, body = await _post(ctx, f"{prefix}/num_tasks", {})
    count = body.get("num_tasks") if isinstance(body, dict) else None
    if not isinstance(count, int):
        raise Undecided(f"POST {prefix}/num_tasks gave no count; cannot build an out-of-range index")
    unknown = f"oe-no-such-split-{ctx.rng.getrandbits(32):08x}"
    cases: list[tuple[str, str, Any]] = [
        ("tasks", "an unknown split", {"split": unknown}),
        ("task", "a missing index", {}),
        ("task", "an index past the end", {"index": count}),
        ("task", "a negative index", {"index": -1}),
        ("tasks", "a body that is a JSON array", [1]),
        ("num_tasks", "a body that is not JSON", b"{oops"),
    ]
    for route, what, body in cases:
        path = f"{prefix}/{route}"
        if isinstance(body, bytes):
            resp = await ctx.http_call("POST", path, content=body, headers={"content-type": "application/json"})
        else:
            resp = await ctx.http_call("POST", path, json_body=body)
        try:
            reply = resp.json()
        except ValueError:
            reply = None
        if resp.status_code != 400 or not isinstance(reply, dict) or not isinstance(reply.get("detail"), str):
            raise Fail(f"POST {path} with {what} → HTTP {resp.status_code} {resp.text[:200]!r}, "
                       "expected 400 with a 'detail' string")  # fmt: skip
    for method, route in (("GET", "tasks"), ("POST", "splits")):
        resp = await ctx.http_call(method, f"{prefix}/{route}")
        if resp.status_code != 405:
            raise Fail(f"{method} {prefix}/{route} → HTTP {resp.status_code}, expected 405")
    return None


@check(
    "tasks.ids",
    title="task ids are unique and name the same tasks in every listing",
    clauses=["OE-TASK-001"],
)
async def ids(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    names = _ids(found.tasks)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise Fail(f"task ids are not unique: {twice[:10]}")
    again = await list_tasks(ctx, found.prefix)
    if again != found.tasks:
        raise Fail(f"two listings differ: {names[:10]} then {_ids(again)[:10]}")
    return f"{len(names)} unique ids, stable across two listings"


@check(
    "tasks.reset.by_id",
    title="reset with a task_id starts that task and names it (and its split) in metadata",
    clauses=["OE-TASK-002", "OE-TASK-007"],
)
async def reset_by_id(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    chosen = sample(found)
    if not chosen:
        raise Unimplemented("the taskset is empty: no task to reset")
    conn = await open_conn(ctx, label="tasks")
    http_served = True
    for task in chosen:
        task_id, split = task["id"], task["split"]
        for extra in ({}, {"split": split}):
            what = f"reset with task_id {task_id!r}" + (f" and split {split!r}" if extra else "")
            data = await reset_observation(ctx, conn, what, task_id=task_id, **extra)
            if data is None:
                raise Fail(f"{what} was answered with an error")
            named = named_task(data, what)
            if named != (task_id, split):
                raise Fail(f"{what} started task {named[0]!r} (split {named[1]!r}) instead")
        if http_served:
            resp = await ctx.http_call("POST", "/reset", json_body={**ctx.options.reset_data, "task_id": task_id})
            if resp.status_code == 404:
                http_served = False
                continue
            try:
                body = resp.json()
            except ValueError:
                body = None
            metadata = body.get("metadata") if isinstance(body, dict) else None
            if resp.status_code != 200 or not isinstance(metadata, dict) or metadata.get("task_id") != task_id:
                raise Fail(f"POST /reset with task_id {task_id!r} → HTTP {resp.status_code}, metadata "
                           f"{json.dumps(metadata)[:200]}: not that task")  # fmt: skip
    return f"{len(chosen)} task(s) started by id" + ("" if http_served else " (over /ws; no HTTP /reset)")


@check(
    "tasks.reset.unknown",
    title="reset with an unknown task_id, or one outside the split, is an error, never another task",
    clauses=["OE-TASK-002"],
)
async def reset_unknown(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    unknown = f"oe-no-such-task-{ctx.rng.getrandbits(32):08x}"
    conn = await open_conn(ctx, label="tasks")
    data = await reset_observation(ctx, conn, f"reset with the unknown task_id {unknown!r}", task_id=unknown)
    if data is not None:
        named = (data.get("metadata") or {}).get("task_id") if isinstance(data.get("metadata"), dict) else None
        raise Fail(
            f"reset with the unknown task_id {unknown!r} started an episode (task {named!r}) instead of an error"
        )
    checked = "an unknown id"
    other = next((s for s in found.splits if s != found.tasks[0]["split"]), None) if found.tasks else None
    if other is not None:
        task = found.tasks[0]
        what = f"reset with task_id {task['id']!r} and split {other!r} (it is in {task['split']!r})"
        if await reset_observation(ctx, conn, what, task_id=task["id"], split=other) is not None:
            raise Fail(f"{what} started an episode instead of an error")
        checked += " and a task outside its split"
    resp = await ctx.http_call("POST", "/reset", json_body={**ctx.options.reset_data, "task_id": unknown})
    if resp.status_code == 200:
        raise Fail(f"POST /reset with the unknown task_id {unknown!r} → HTTP 200, expected an error status")
    return f"{checked}: error replies"


@check(
    "tasks.reset.seeded",
    title="a seed without task_id picks the same task in every session, from the split when given",
    clauses=["OE-TASK-003"],
    level=Level.SHOULD,
)
async def reset_seeded(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    if not found.tasks:
        raise Unimplemented("the taskset is empty: no task to draw")
    picks: list[list[Any]] = []
    for n in range(2):  # two sessions, one after the other (fair to one-session servers)
        conn = await open_conn(ctx, label=f"seeded{n + 1}")
        row = []
        for seed in SEEDS:
            what = f"reset with seed {seed} in session {n + 1}"
            data = await reset_observation(ctx, conn, what, seed=seed)
            if data is None:
                raise Fail(f"{what} was answered with an error", clauses=["OE-TASK-002"])
            row.append(named_task(data, what)[0])
        for split in found.splits[:2]:
            what = f"reset with seed {SEEDS[0]} and split {split!r}"
            data = await reset_observation(ctx, conn, what, seed=SEEDS[0], split=split)
            if data is None:
                raise Fail(f"{what} was answered with an error", clauses=["OE-TASK-002"])
            task_id, task_split = named_task(data, what)
            if task_split != split or task_id not in _ids(found.by_split(split)):
                raise Fail(f"{what} started task {task_id!r} of split {task_split!r}, not one of that split")
            row.append(task_id)
        await conn.close()
        picks.append(row)
    if picks[0] != picks[1]:
        raise Fail(f"the same seeds picked different tasks in two sessions: {picks[0]} and {picks[1]}")
    return f"seeds {list(SEEDS)} picked {picks[0][: len(SEEDS)]} in both sessions"


@check(
    "tasks.metadata",
    title="/metadata declares the taskset (capabilities.tasks) and its taskset member agrees with the Task API",
    clauses=["OE-TASK-008"],
)
async def metadata(ctx: CaseContext) -> str | None:
    found = await listing(ctx)
    meta = disc(ctx)
    if meta.declared_capabilities.get("tasks") is not True:
        raise Fail("the server serves a taskset, but /metadata does not declare capabilities.tasks: true")
    summary = meta.declared_taskset
    if summary is None:
        raise Fail("/metadata has no 'taskset' member describing the splits", level=Level.SHOULD)
    expected = {
        "num_tasks": len(found.tasks),
        "splits": [{"name": s, "num_tasks": len(found.by_split(s))} for s in found.splits],
    }
    if summary != expected:
        raise Fail(f"/metadata taskset {json.dumps(summary)[:300]} disagrees with the Task API: {json.dumps(expected)}")
    return None
