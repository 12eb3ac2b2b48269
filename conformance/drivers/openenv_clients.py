"""Client-certification driver for this SDK's clients: `openenv.GenericEnvClient` (async) and
`openenv.GenericSyncEnvClient` (sync).

Usage (by the harness): `python conformance/drivers/openenv_clients.py async|sync`. Follows the
driver protocol in `driverlib.py`; one client object per run, never recreated.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from driverlib import (
    AsyncAdapter,
    Result,
    SyncAdapter,
    failure,
    plans,
    rollout_action,
    run_async,
    run_sync,
    step_result,
)
from openenv import GenericEnvClient, GenericSyncEnvClient
from openenv.errors import (
    ClientClosedError,
    ConnectError,
    RemoteError,
    RemoteProtocolError,
    RequestTimeoutError,
    SessionLostError,
)
from openenv.rollout import Trajectory, UrlSessions, run_rollouts, run_rollouts_sync

ERROR_KINDS = {"SessionLostError": "lost", "EpisodeTimeout": "timeout", "RequestTimeoutError": "timeout"}


def classify(exc: BaseException) -> Result:
    if isinstance(exc, RemoteError):
        return failure("remote", exc, code=exc.code)
    if isinstance(exc, RequestTimeoutError):
        return failure("timeout", exc)
    if isinstance(exc, SessionLostError):
        return failure("lost", exc)
    if isinstance(exc, ConnectError):
        return failure("connect", exc, status=exc.status)
    if isinstance(exc, RemoteProtocolError):
        return failure("protocol", exc)
    if isinstance(exc, ClientClosedError):
        return failure("closed", exc)
    return failure("other", exc)


def _result(res: Any) -> Result:
    return step_result(res.observation, res.reward, res.done, res.terminated, res.truncated)


def _rollout_options(op: dict[str, Any], url: str, timeout_s: float) -> dict[str, Any]:
    return {
        "source": UrlSessions([url], timeout_s=max(timeout_s, float(op["episode_timeout_s"]) * 2)),
        "policy": rollout_action,
        "episodes": int(op["episodes"]),
        "concurrency": int(op["concurrency"]),
        "max_steps": int(op["max_steps"]),
        "episode_timeout_s": float(op["episode_timeout_s"]),
    }


def _episode(t: Trajectory) -> Result:
    error = None
    if t.error is not None:
        error = ERROR_KINDS.get(t.error.type) or ("remote" if t.error.code else "other")
    return {
        "ok": t.error is None,
        "steps": len(t.steps),
        "rewards": [s.reward for s in t.steps],
        "terminated": t.terminated,
        "truncated": t.truncated,
        "truncated_by": t.truncated_by,
        "error": error,
        "error_step": t.error.step if t.error is not None else None,
        "message": t.error.message[:200] if t.error is not None else None,
    }


def _state(state: Any) -> Result:
    return {"ok": True, "state": state.model_dump(mode="json") if hasattr(state, "model_dump") else state}


class Async(AsyncAdapter):
    def __init__(self, url: str, timeout_s: float) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.client = GenericEnvClient(url, timeout_s=timeout_s, connect_timeout_s=max(timeout_s, 5.0))

    async def connect(self) -> Result:
        await self.client.connect()
        return {"ok": True}

    async def reset(self, data: dict[str, Any]) -> Result:
        return _result(await self.client.reset(**data))

    async def step(self, action: dict[str, Any]) -> Result:
        return _result(await self.client.step(action))

    async def state(self) -> Result:
        return _state(await self.client.state())

    async def close(self) -> Result:
        await self.client.close()
        return {"ok": True}

    async def rollout(self, op: dict[str, Any]) -> Result:
        batch = await run_rollouts(**_rollout_options(op, self.url, self.timeout_s))
        return {"ok": True, "episodes": [_episode(t) for t in batch]}


class Sync(SyncAdapter):
    def __init__(self, url: str, timeout_s: float) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.client = GenericSyncEnvClient(url, timeout_s=timeout_s, connect_timeout_s=max(timeout_s, 5.0))

    def connect(self) -> Result:
        self.client.connect()
        return {"ok": True}

    def reset(self, data: dict[str, Any]) -> Result:
        return _result(self.client.reset(**data))

    def step(self, action: dict[str, Any]) -> Result:
        return _result(self.client.step(action))

    def state(self) -> Result:
        return _state(self.client.state())

    def close(self) -> Result:
        self.client.close()
        return {"ok": True}

    def rollout(self, op: dict[str, Any]) -> Result:  # the sync entry point: its own event loop
        batch = run_rollouts_sync(**_rollout_options(op, self.url, self.timeout_s))
        return {"ok": True, "episodes": [_episode(t) for t in batch]}


def main() -> None:
    for url, timeout_s, ops in plans():
        if sys.argv[1:] == ["sync"]:
            run_sync(Sync(url, timeout_s), ops, classify)
        else:
            asyncio.run(run_async(Async(url, timeout_s), ops, classify))


if __name__ == "__main__":
    main()
