"""`SessionCarrier`: run a session's work eagerly, and on the session's own task once it suspends.

Most requests to a cheap environment finish without ever waiting, so scheduling a task per request
would cost an event-loop pass each. `start(coro)` instead runs the coroutine right away, from the
protocol callback, *as* the session's carrier task: `asyncio.current_task()` is that task and the
session's `contextvars.Context` is active, exactly as when the task itself runs it. If the
coroutine completes, that was all. If it suspends, the carrier task adopts it at the point where it
stopped and drives it from there, so awaiting, cancellation (step timeouts cancel the current task),
`asyncio.timeout()` and `TaskGroup` behave as in any task. Python 3.12's eager tasks do the same
per task; this module does it with one long-lived task per session, which also works on 3.11.

At most one coroutine runs per carrier at a time (the caller serialises the session's work).

The hand-off needs asyncio's private `_enter_task`/`_leave_task` (present in CPython 3.7 to 3.13).
Where they are missing (`ADOPTION` false, or `SessionCarrier(adopt=False)`), each piece of work
runs as a task of its own in the session's context instead — started eagerly by the stdlib's
`asyncio.eager_task_factory` on 3.12+, scheduled on the next loop pass before that. Behaviour is
the same but for `asyncio.current_task()`, which is then a new task per request.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator
from typing import Any

_enter_task: Callable[[asyncio.AbstractEventLoop, asyncio.Task[Any]], None] | None
_leave_task: Callable[[asyncio.AbstractEventLoop, asyncio.Task[Any]], None] | None
try:  # private, present in CPython 3.7 to 3.13
    from asyncio.tasks import _enter_task, _leave_task
except ImportError:  # pragma: no cover — not on the interpreters tested here
    _enter_task = _leave_task = None

ADOPTION = _enter_task is not None and _leave_task is not None
"""Whether the eager hand-off onto one long-lived task is available on this interpreter."""

_EAGER_FACTORY: Any = getattr(asyncio, "eager_task_factory", None)  # Python 3.12+

_STOP = None
_NOT_STARTED = object()


class Adopted:
    """Awaitable that continues `coro`, already started by hand, which last yielded `yielded` (or is
    to receive `throw`): awaiting it in a task is the same as if the task had run `coro` all along."""

    __slots__ = ("coro", "throw", "yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any, throw: BaseException | None = None) -> None:
        self.coro = coro
        self.yielded = yielded
        self.throw = throw

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self.coro
        try:
            if self.throw is not None:
                value = coro.throw(self.throw)
            elif self.yielded is _NOT_STARTED:
                value = coro.send(None)
            else:
                value = self.yielded
        except StopIteration as stop:
            return stop.value
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation (or anything else the task throws in)
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class SessionCarrier:
    """One session's task and context; `start()` runs work on them (see the module doc)."""

    __slots__ = ("_handoff", "_loop", "_running", "adopt", "context", "stopped", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, *, adopt: bool = ADOPTION) -> None:
        self._loop = loop
        self.adopt = adopt
        self.context = contextvars.copy_context()
        self._handoff: asyncio.Future[Any] = loop.create_future()
        self._running: set[asyncio.Task[Any]] = set()
        self.stopped = False
        body = self._carry() if adopt else self._wait_for_stop()
        self.task: asyncio.Task[None] = loop.create_task(body, context=self.context)

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` now, as the carrier task; the task takes over if it suspends.
        Only when no earlier `coro` is still running."""
        if not self.adopt:
            self._spawn(coro)
            return
        if self.task.done():  # cancelled from outside while idle: a fresh task takes its place
            self._handoff = self._loop.create_future()
            self.task = self._loop.create_task(self._carry(), context=self.context)
        self.context.run(self._step, coro)

    def stop(self) -> None:
        """End the carrier task once it is idle (after the running coroutine, if any)."""
        self.stopped = True
        if not self._handoff.done():
            self._handoff.set_result(_STOP)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """The fallback: `coro` as a task of its own in the session's context (eager on 3.12+)."""
        loop = self._loop
        if _EAGER_FACTORY is not None:
            task: asyncio.Task[Any] = _EAGER_FACTORY(loop, coro, context=self.context)
        else:
            task = loop.create_task(coro, context=self.context)
        if not task.done():
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _wait_for_stop(self) -> None:
        """The fallback's long-lived task: it ends at `stop()`, after the running work."""
        await self._handoff
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _step(self, coro: Coroutine[Any, Any, Any]) -> None:
        loop, task = self._loop, self.task
        assert _enter_task is not None and _leave_task is not None
        try:
            _enter_task(loop, task)
        except RuntimeError:  # called from inside another task: no eager start, the carrier runs it
            self._handoff.set_result((coro, _NOT_STARTED))
            return
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        finally:
            _leave_task(loop, task)
        self._handoff.set_result((coro, yielded))

    async def _carry(self) -> None:
        loop = self._loop
        while not self.stopped:
            handoff = self._handoff
            try:
                item = await handoff
            except asyncio.CancelledError:
                if not handoff.done() or handoff.cancelled() or handoff.result() is _STOP:
                    raise  # cancelled while idle: the task ends (shutdown, or `start` replaces it)
                # Cancelled between the hand-off and the pickup: the adopted coroutine gets it, as
                # it would have in a task of its own.
                self._handoff = loop.create_future()
                coro, _ = handoff.result()
                await Adopted(coro, None, asyncio.CancelledError())
                continue
            if item is _STOP:
                return
            self._handoff = loop.create_future()
            coro, yielded = item
            await Adopted(coro, yielded)
