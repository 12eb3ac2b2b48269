"""`SessionCarrier`: eager starts that behave like the session's task, on asyncio and on uvloop."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop
from openenv.server.carrier import SessionCarrier

VAR: contextvars.ContextVar[int] = contextvars.ContextVar("VAR", default=0)

Runner = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    def runner(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if request.param == "uvloop":
            uvloop.run(main())
        else:
            asyncio.run(main())

    return runner


def from_callback(carrier: SessionCarrier, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[None]:
    """Start `coro` the way a protocol does: from a loop callback, outside any task."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[None] = loop.create_future()

    def callback() -> None:
        assert asyncio.current_task() is None
        carrier.start(coro)
        started.set_result(None)

    loop.call_soon(callback)
    return started


def test_a_coroutine_that_never_waits_finishes_inside_start_as_the_carrier_task(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop())
        seen: list[Any] = []

        async def work() -> None:
            seen.append(asyncio.current_task())
            VAR.set(VAR.get() + 1)

        await from_callback(carrier, work())
        assert seen == [carrier.task]  # done before start() returned
        await from_callback(carrier, work())
        assert carrier.context.run(VAR.get) == 2  # one context for the whole session
        assert VAR.get() == 0  # not the caller's
        carrier.stop()
        await carrier.task

    run(main)


def test_a_suspended_coroutine_is_adopted_by_the_carrier_task(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop())
        tasks: list[Any] = []
        done = asyncio.get_running_loop().create_future()

        async def work() -> None:
            tasks.append(asyncio.current_task())
            VAR.set(7)
            await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            tasks.append(asyncio.current_task())
            done.set_result(VAR.get())

        await from_callback(carrier, work())
        assert not done.done()
        assert await done == 7
        assert tasks == [carrier.task, carrier.task]
        carrier.stop()
        await carrier.task
        assert carrier.task.done() and not carrier.task.cancelled()

    run(main)


def test_timeout_and_taskgroup_work_across_the_hand_off(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop())
        outcome = asyncio.get_running_loop().create_future()

        async def work() -> None:
            try:
                async with asyncio.timeout(0.05):  # entered during the eager start
                    await asyncio.sleep(10)
            except TimeoutError:
                pass
            async with asyncio.TaskGroup() as group:
                child = group.create_task(asyncio.sleep(0.01, result="child"))
            outcome.set_result((child.result(), asyncio.current_task().cancelling()))  # type: ignore[union-attr]

        await from_callback(carrier, work())
        assert await asyncio.wait_for(outcome, 5) == ("child", 0)
        carrier.stop()
        await carrier.task

    run(main)


def test_cancelling_the_carrier_reaches_the_running_coroutine_and_the_session_goes_on(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop())
        waiting = asyncio.Event()
        outcome = asyncio.get_running_loop().create_future()

        async def hung() -> None:
            waiting.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]  # as EnvHost does on a step timeout
                outcome.set_result("cancelled")

        await from_callback(carrier, hung())
        await waiting.wait()
        carrier.task.cancel()
        assert await asyncio.wait_for(outcome, 5) == "cancelled"
        second = asyncio.get_running_loop().create_future()

        async def later() -> None:
            await asyncio.sleep(0)
            second.set_result(asyncio.current_task())

        await from_callback(carrier, later())
        assert await asyncio.wait_for(second, 5) is carrier.task
        carrier.stop()
        await carrier.task

    run(main)


def test_a_cancel_between_hand_off_and_pickup_is_delivered_to_the_coroutine(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        carrier = SessionCarrier(loop)
        await asyncio.sleep(0)  # the carrier is parked
        outcome = loop.create_future()

        async def work() -> None:
            try:
                await loop.create_future()  # never completes
            except asyncio.CancelledError:
                outcome.set_result("delivered")
                raise

        def start_then_cancel() -> None:
            carrier.start(work())
            carrier.task.cancel()  # before the task ran again

        loop.call_soon(start_then_cancel)
        assert await asyncio.wait_for(outcome, 5) == "delivered"
        with pytest.raises(asyncio.CancelledError):
            await carrier.task  # the adopted coroutine re-raised: the carrier ends like a task would

    run(main)


def test_a_carrier_cancelled_while_idle_is_replaced_on_the_next_start(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        carrier = SessionCarrier(loop)
        first = carrier.task
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        result = loop.create_future()

        async def work() -> None:
            await asyncio.sleep(0)
            result.set_result(asyncio.current_task())

        await from_callback(carrier, work())
        assert await asyncio.wait_for(result, 5) is carrier.task is not first
        carrier.stop()
        await carrier.task

    run(main)


def test_stop_waits_for_the_running_coroutine(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        carrier = SessionCarrier(loop)
        finished: list[str] = []

        async def work() -> None:
            await asyncio.sleep(0.01)
            finished.append("work")

        await from_callback(carrier, work())
        carrier.stop()
        await asyncio.wait_for(carrier.task, 5)
        assert finished == ["work"]

    run(main)


def test_started_from_inside_another_task_the_carrier_runs_it_instead(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop())
        seen: list[Any] = []

        async def work() -> None:
            seen.append(asyncio.current_task())

        carrier.start(work())  # from this test's task: nothing may run as the carrier right now
        assert seen == []
        await asyncio.sleep(0.01)
        assert seen == [carrier.task]
        carrier.stop()
        await carrier.task

    run(main)


# -- the fallback without asyncio's private task hooks: one task per piece of work -----------------


def test_fallback_keeps_the_session_context_and_runs_in_order(run: Runner) -> None:
    async def main() -> None:
        carrier = SessionCarrier(asyncio.get_running_loop(), adopt=False)
        seen: list[Any] = []

        async def work() -> None:
            await asyncio.sleep(0)
            seen.append(asyncio.current_task())
            VAR.set(VAR.get() + 1)

        await from_callback(carrier, work())
        await asyncio.sleep(0.01)
        await from_callback(carrier, work())
        await asyncio.sleep(0.01)
        assert carrier.context.run(VAR.get) == 2  # one context for the whole session
        assert VAR.get() == 0
        assert len(seen) == 2 and carrier.task not in seen  # a task per request
        carrier.stop()
        await asyncio.wait_for(carrier.task, 5)

    run(main)


def test_fallback_timeouts_cancellation_and_stop(run: Runner) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        carrier = SessionCarrier(loop, adopt=False)
        outcome = loop.create_future()
        parked = asyncio.Event()
        running: list[asyncio.Task[Any]] = []

        async def work() -> None:
            running.append(asyncio.current_task())  # type: ignore[arg-type]
            try:
                async with asyncio.timeout(0.02):
                    await asyncio.sleep(10)
            except TimeoutError:
                pass
            async with asyncio.TaskGroup() as group:
                child = group.create_task(asyncio.sleep(0.01, result="child"))
            parked.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:  # cancelled the way the step-timeout watchdog does
                outcome.set_result(child.result())

        await from_callback(carrier, work())
        await asyncio.wait_for(parked.wait(), 5)
        running[0].cancel()
        assert await asyncio.wait_for(outcome, 5) == "child"
        finished: list[str] = []

        async def slow() -> None:
            await asyncio.sleep(0.02)
            finished.append("slow")

        await from_callback(carrier, slow())
        carrier.stop()
        await asyncio.wait_for(carrier.task, 5)
        assert finished == ["slow"]  # stop waited for the running work

    run(main)
