"""The server's single timer: due items expire, busy ones wait, finished ones do not pile up."""

from __future__ import annotations

from openenv.server.watchdog import Watchdog


class Item:
    def __init__(self, deadline: float) -> None:
        self.when = deadline
        self.expired = 0

    def deadline(self) -> float:
        return self.when

    def expire(self) -> None:
        self.expired += 1


def test_only_due_items_expire_and_moved_deadlines_are_honoured() -> None:
    dog = Watchdog(resolution=0.1)
    due, later, moved = Item(1.0), Item(5.0), Item(1.0)
    for item in (due, later, moved):
        dog.watch(item)
    moved.when = 3.0  # a frame arrived: the session's idle deadline moved forward
    dog.check(now=2.0)
    assert (due.expired, later.expired, moved.expired) == (1, 0, 0)
    dog.check(now=3.5)
    assert moved.expired == 1 and later.expired == 0


def test_busy_items_are_not_expired_and_are_looked_at_again() -> None:
    dog = Watchdog(resolution=0.1)
    busy = Item(1.0)
    dog.watch(busy)
    busy.when = float("inf")  # a request is running: idle time does not count (OE-LIM-009)
    dog.check(now=2.0)
    assert busy.expired == 0
    busy.when = 2.05  # idle again, with a new deadline
    dog.check(now=2.2)
    assert busy.expired == 1


def test_running_calls_expire_past_their_deadline() -> None:
    dog = Watchdog(resolution=0.1)
    call = Item(1.0)
    dog.running.add(call)
    dog.check(now=0.5)
    assert call.expired == 0 and call in dog.running
    dog.check(now=1.5)
    assert call.expired == 1 and call not in dog.running


def test_session_churn_does_not_accumulate_finished_entries() -> None:
    dog = Watchdog(resolution=0.1)
    keep = [Item(1e9) for _ in range(10)]
    for item in keep:
        dog.watch(item)
    for _ in range(10_000):  # sessions that come and go long before their idle deadline
        gone = Item(1e9)
        dog.watch(gone)
        gone.when = float("nan")
        dog.forget(gone)
    assert len(dog._heap) <= 2 * len(keep) + 64 + 1
    dog.check(now=2e9)
    assert all(item.expired == 1 for item in keep)
