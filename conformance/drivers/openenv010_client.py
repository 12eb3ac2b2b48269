"""Client-certification driver for the client of PyPI `openenv==0.10.0`
(`openenv.core.GenericEnvClient`, async), run with `.venv-openenv010/bin/python`.

0.10's client reports server errors as `RuntimeError("Server error: ... (code: X)")`, a failed
connect as `ConnectionError`, and has no `terminated`/`truncated` (reported as null). Follows the
driver protocol in `driverlib.py`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from driverlib import AsyncAdapter, Result, failure, plans, run_async, step_result
from openenv.core.generic_client import GenericEnvClient
from websockets.exceptions import ConnectionClosed

_CODE = re.compile(r"\(code: ([A-Z0-9_]+)\)")
_STATUS = re.compile(r"HTTP (\d{3})")


def classify(exc: BaseException) -> Result:
    text = str(exc)
    if isinstance(exc, RuntimeError) and text.startswith("Server error"):
        m = _CODE.search(text)
        return failure("remote", exc, code=m.group(1) if m else None)
    if isinstance(exc, TimeoutError | asyncio.CancelledError):
        return failure("timeout", exc)
    if isinstance(exc, ConnectionClosed):
        return failure("lost", exc)
    if isinstance(exc, ConnectionError):
        m = _STATUS.search(text)
        return failure("connect", exc, status=int(m.group(1)) if m else None)
    return failure("other", exc)


class Legacy(AsyncAdapter):
    def __init__(self, url: str, timeout_s: float) -> None:
        self.client = GenericEnvClient(base_url=url, message_timeout_s=timeout_s, connect_timeout_s=max(timeout_s, 5.0))

    async def connect(self) -> Result:
        await self.client.connect()
        return {"ok": True}

    async def reset(self, data: dict[str, Any]) -> Result:
        res = await self.client.reset(**data)
        return step_result(res.observation, res.reward, res.done)

    async def step(self, action: dict[str, Any]) -> Result:
        res = await self.client.step(action)
        return step_result(res.observation, res.reward, res.done)

    async def state(self) -> Result:
        return {"ok": True, "state": await self.client.state()}

    async def close(self) -> Result:
        await self.client.close()
        return {"ok": True}


def main() -> None:
    for url, timeout_s, ops in plans():
        asyncio.run(run_async(Legacy(url, timeout_s), ops, classify))


if __name__ == "__main__":
    main()
