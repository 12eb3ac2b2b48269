"""Client-certification driver for this SDK's clients: `openenv.GenericEnvClient` (async) and
`openenv.GenericSyncEnvClient` (sync).

Usage (by the harness): `python conformance/drivers/openenv_clients.py async|sync`. Follows the
driver protocol in `driverlib.py`; one client object per run, never recreated.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from driverlib import AsyncAdapter, Result, SyncAdapter, failure, plans, run_async, run_sync, step_result
from openenv import GenericEnvClient, GenericSyncEnvClient
from openenv.errors import (
    ClientClosedError,
    ConnectError,
    RemoteError,
    RemoteProtocolError,
    RequestTimeoutError,
    SessionLostError,
)


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


def _state(state: Any) -> Result:
    return {"ok": True, "state": state.model_dump(mode="json") if hasattr(state, "model_dump") else state}


class Async(AsyncAdapter):
    def __init__(self, url: str, timeout_s: float) -> None:
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


class Sync(SyncAdapter):
    def __init__(self, url: str, timeout_s: float) -> None:
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


def main() -> None:
    for url, timeout_s, ops in plans():
        if sys.argv[1:] == ["sync"]:
            run_sync(Sync(url, timeout_s), ops, classify)
        else:
            asyncio.run(run_async(Async(url, timeout_s), ops, classify))


if __name__ == "__main__":
    main()
