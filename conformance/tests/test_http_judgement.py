"""HTTP judgement fairness: a server that closes kept-alive connections after answering (as 0.10
does after a 500) is retried on a fresh connection before anything is judged, and an environment
exception answered with HTTP 500 (which OE-HTTP-021 requires) is not a FAIL of `http.step`.

The servers are real asyncio TCP servers on loopback speaking HTTP/1.1 by hand, so the connection
behaviour is exactly the one under test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from openenv_conformance.context import CaseContext, RunState
from openenv_conformance.discovery import Discovery
from openenv_conformance.registry import all_checks
from openenv_conformance.target import RunOptions, Target
from openenv_conformance.verdicts import Undecided
from openenv_conformance.wire_schema import SchemaSet

Handler = Callable[[str, str], tuple[int, str]]


async def _serve(handler: Handler, *, close_after: bool) -> tuple[asyncio.Server, int]:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):  # the client went away
                writer.close()
                return
            method, path = head.decode().split(" ")[:2]
            length = 0
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":")[1])
            if length:
                await reader.readexactly(length)
            status, body = handler(method, path)
            head_out = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
            writer.write(f"{head_out}\r\n\r\n{body}".encode())
            await writer.drain()
            if close_after:  # no `Connection: close` header: the client reuses the connection and its
                await asyncio.sleep(0.05)  # next request is cut off unanswered, as 0.10 does after a 500
                writer.close()
                return

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _ctx(port: int) -> CaseContext:
    run = RunState(Target.parse(f"http://127.0.0.1:{port}"), RunOptions(timeout_s=2.0), SchemaSet.load())
    return CaseContext(run, "test", 0)


async def _with(handler: Handler, close_after: bool, body: Callable[[CaseContext], Awaitable[None]]) -> None:
    server, port = await _serve(handler, close_after=close_after)
    ctx = _ctx(port)
    try:
        await body(ctx)
    finally:
        await ctx.aclose()
        await asyncio.sleep(0.05)  # let the handlers see the client's close
        server.close()
        await server.wait_closed()


async def test_a_closed_keep_alive_connection_is_retried_on_a_fresh_one() -> None:
    async def two_calls(ctx: CaseContext) -> None:
        first = await ctx.http_call("GET", "/health")
        second = await ctx.http_call("GET", "/state")  # sent on the pooled connection, never answered
        assert first.status_code == 200 and second.status_code == 200
        assert any("retrying on a fresh one" in e.data for e in ctx.transcript)

    await _with(lambda m, p: (200, json.dumps({"ok": p})), True, two_calls)


async def test_http_500_from_the_environment_is_not_a_fail() -> None:
    async def judge(ctx: CaseContext) -> None:
        ctx.run.cache["discovery"] = Discovery(override={"n": 1})
        try:
            await all_checks()["http.step"].fn(ctx)
        except Undecided as exc:
            assert "OE-HTTP-021" in exc.message
        else:
            raise AssertionError("a 500 must not pass http.step either")

    await _with(lambda m, p: (500, '{"detail":"boom"}'), False, judge)
