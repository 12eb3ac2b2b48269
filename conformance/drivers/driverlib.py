"""The driver side of client certification: read the plan, run each operation, print results.

Contract (the driver protocol, also in conformance/README.md): the harness starts the driver with
`OPENENV_CONFORMANCE_URL` (`http://127.0.0.1:PORT` of the scripted server) and
`OPENENV_CONFORMANCE_PLAN` (JSON: `{"scenario", "timeout_s", "ops": [...]}`) in its environment.
The driver creates ONE client of the library under test, with `timeout_s` as its reply timeout,
and performs the operations in order: `connect`, `reset` (optional `data`), `step` (`action`),
`state`, `close`, `sleep` (`s` seconds), `concurrent` (`ops`, issued together) and `rollout`
(see below). For each it
prints one JSON line: `{"op", "ok": true, ...}` with `observation`, `reward`, `done`,
`terminated`, `truncated` (null when the library has no such field) or `state`; or
`{"op", "ok": false, "error": KIND, "code", "status", "message"}` where KIND is `remote` (an
error frame; `code` is its code), `timeout`, `lost` (the session's connection ended), `connect`
(the connection could not be opened; `status` is the HTTP status when known), `protocol`,
`closed` or `other`. A `concurrent` op prints `{"op": "concurrent", "results": [...]}`. After an
error the driver goes on with the next operation on the same client object: whether the library
then reconnects on its own is part of what is certified. Nothing here retries or reconnects.

`rollout` (optional; spec/rollouts.md) runs a batch with the library's rollout runner against the
same URL: `episodes`, `concurrency`, `max_steps` and `episode_timeout_s` as given, and the policy
that answers an observation `{"echo": k}` with the action `{"n": k + 1}` (`{"n": 1}` for any other
observation). It prints `{"op": "rollout", "ok": true, "episodes": [...]}`, one entry per episode
in batch order: `{"ok", "steps", "rewards", "terminated", "truncated", "truncated_by"` (`client`,
`env` or null)`, "error"` (null, or a KIND as above: `lost`, `timeout` for the episode's time bound,
`remote`, `other`)`, "error_step"}`. A library without a rollout runner prints
`{"op": "rollout", "ok": false, "error": "unsupported"}`.

Persistent mode (`serve-client --persistent`, for clients slow to import): the harness starts the
driver once with `OPENENV_CONFORMANCE_STDIN=1` and writes one plan per line on stdin, each with
its `url`; the driver runs each plan with a NEW client and ends its results with `{"op": "end"}`.

This file is shared by the Python drivers in this directory (each runs in its own interpreter,
so it imports nothing but the standard library).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Result = dict[str, Any]
Classify = Callable[[BaseException], Result]


Plan = tuple[str, float, list[dict[str, Any]]]
UNSUPPORTED: Result = {"ok": False, "error": "unsupported", "message": "this library has no rollout runner"}


def rollout_action(observation: Any) -> dict[str, Any]:
    """The `rollout` operation's policy: `{"echo": k}` → `{"n": k + 1}`, anything else → `{"n": 1}`."""
    if hasattr(observation, "model_dump"):
        observation = observation.model_dump(mode="json")
    echo = observation.get("echo") if isinstance(observation, dict) else None
    return {"n": echo + 1 if isinstance(echo, int) and not isinstance(echo, bool) else 1}


def load_plan() -> Plan:
    url = os.environ["OPENENV_CONFORMANCE_URL"]
    plan = json.loads(os.environ["OPENENV_CONFORMANCE_PLAN"])
    return url, float(plan.get("timeout_s", 5.0)), list(plan["ops"])


def plans() -> Iterator[Plan]:
    """Every plan to run: the one in the environment, or (persistent mode) one per stdin line."""
    if os.environ.get("OPENENV_CONFORMANCE_STDIN") != "1":
        yield load_plan()
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        plan = json.loads(line)
        yield str(plan["url"]), float(plan.get("timeout_s", 5.0)), list(plan["ops"])
        emit({"op": "end"})


def emit(result: Result) -> None:
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def step_result(observation: Any, reward: Any, done: Any, terminated: Any = None, truncated: Any = None) -> Result:
    if hasattr(observation, "model_dump"):
        observation = observation.model_dump(mode="json")
    return {
        "ok": True,
        "observation": observation,
        "reward": reward,
        "done": done,
        "terminated": terminated,
        "truncated": truncated,
    }


def failure(kind: str, exc: BaseException, *, code: Any = None, status: Any = None) -> Result:
    return {"ok": False, "error": kind, "code": code, "status": status, "message": f"{type(exc).__name__}: {exc}"[:500]}


class SyncAdapter:
    """What a sync driver implements: one method per operation, each returning a result dict."""

    def connect(self) -> Result:
        raise NotImplementedError

    def reset(self, data: dict[str, Any]) -> Result:
        raise NotImplementedError

    def step(self, action: dict[str, Any]) -> Result:
        raise NotImplementedError

    def state(self) -> Result:
        raise NotImplementedError

    def close(self) -> Result:
        raise NotImplementedError

    def rollout(self, op: dict[str, Any]) -> Result:
        return UNSUPPORTED


def _call_sync(adapter: SyncAdapter, op: dict[str, Any], classify: Classify) -> Result:
    kind = op["op"]
    try:
        if kind == "connect":
            res = adapter.connect()
        elif kind == "reset":
            res = adapter.reset(dict(op.get("data") or {}))
        elif kind == "step":
            res = adapter.step(dict(op["action"]))
        elif kind == "state":
            res = adapter.state()
        elif kind == "close":
            res = adapter.close()
        elif kind == "rollout":
            res = adapter.rollout(op)
        elif kind == "sleep":
            time.sleep(float(op["s"]))
            res = {"ok": True}
        else:
            res = {"ok": False, "error": "other", "message": f"unknown op {kind!r}"}
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        res = classify(exc)
    return {"op": kind, **res}


def run_sync(adapter: SyncAdapter, ops: list[dict[str, Any]], classify: Classify) -> None:
    """Perform the plan with a sync client; `concurrent` ops run on one thread each."""
    for op in ops:
        if op["op"] == "concurrent":
            inner = list(op["ops"])
            with ThreadPoolExecutor(max_workers=len(inner)) as pool:
                results = list(pool.map(lambda o: _call_sync(adapter, o, classify), inner))
            emit({"op": "concurrent", "results": results})
        else:
            emit(_call_sync(adapter, op, classify))


class AsyncAdapter:
    """What an async driver implements (see `SyncAdapter`)."""

    async def connect(self) -> Result:
        raise NotImplementedError

    async def reset(self, data: dict[str, Any]) -> Result:
        raise NotImplementedError

    async def step(self, action: dict[str, Any]) -> Result:
        raise NotImplementedError

    async def state(self) -> Result:
        raise NotImplementedError

    async def close(self) -> Result:
        raise NotImplementedError

    async def rollout(self, op: dict[str, Any]) -> Result:
        return UNSUPPORTED


async def _call_async(adapter: AsyncAdapter, op: dict[str, Any], classify: Classify) -> Result:
    kind = op["op"]
    try:
        call: Awaitable[Result]
        if kind == "connect":
            call = adapter.connect()
        elif kind == "reset":
            call = adapter.reset(dict(op.get("data") or {}))
        elif kind == "step":
            call = adapter.step(dict(op["action"]))
        elif kind == "state":
            call = adapter.state()
        elif kind == "close":
            call = adapter.close()
        elif kind == "rollout":
            call = adapter.rollout(op)
        elif kind == "sleep":
            await asyncio.sleep(float(op["s"]))
            return {"op": kind, "ok": True}
        else:
            return {"op": kind, "ok": False, "error": "other", "message": f"unknown op {kind!r}"}
        res = await call
    except (Exception, asyncio.CancelledError) as exc:
        res = classify(exc)
    return {"op": kind, **res}


async def run_async(adapter: AsyncAdapter, ops: list[dict[str, Any]], classify: Classify) -> None:
    """Perform the plan with an async client; `concurrent` ops are gathered."""
    for op in ops:
        if op["op"] == "concurrent":
            results = await asyncio.gather(*(_call_async(adapter, o, classify) for o in op["ops"]))
            emit({"op": "concurrent", "results": list(results)})
        else:
            emit(await _call_async(adapter, op, classify))
