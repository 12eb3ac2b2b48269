"""The pool's sans-I/O core: placement, failure bookkeeping, backoff, metrics."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from openenv.pool._core import PoolBook, RetryPolicy, parse_retry_after


@dataclass
class Server:
    base_url: str

    def stop(self) -> None:
        return None


def test_capacity_from_health_override_or_one() -> None:
    book = PoolBook(None)
    assert book.capacity_of({"status": "healthy", "max_sessions": 7}) == 7
    assert book.capacity_of({"status": "healthy"}) == 1
    assert book.capacity_of({"max_sessions": True}) == 1
    assert book.capacity_of(None) == 1
    assert PoolBook(3).capacity_of({"max_sessions": 7}) == 3
    with pytest.raises(ValueError, match="at least 1"):
        PoolBook(0)


def test_choose_least_loaded_healthy_with_a_free_slot() -> None:
    book = PoolBook(None)
    a = book.add(Server("http://a"), {"max_sessions": 2})
    b = book.add(Server("http://b"), {"max_sessions": 2})
    placed = []
    for n in range(4):
        slot = book.choose()
        assert slot is not None
        slot.sessions.add(n)
        placed.append(slot.base_url)
    assert placed == ["http://a", "http://b", "http://a", "http://b"]
    assert book.choose() is None
    a.sessions.discard(0)
    assert book.choose() is a
    lost = book.fail(b)
    assert sorted(lost) == [1, 3] and not b.healthy and book.sessions_lost == 2
    assert book.fail(b) == []  # a second failure reports nothing twice
    assert book.choose() is a
    book.replace(b, Server("http://b2"), {"max_sessions": 5, "active_sessions": 0})
    assert b.healthy and b.base_url == "http://b2" and b.generation == 1 and b.max_sessions == 5
    metrics = book.metrics()
    assert metrics.replacements == 1 and metrics.sessions_lost == 2
    assert [r.sessions for r in metrics.replicas] == [1, 0]
    assert metrics.as_dict()["replicas"][1]["base_url"] == "http://b2"


def test_backoff_is_jittered_bounded_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=5, base_delay_s=0.1, max_delay_s=1.0)
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(1.0, 0.1 * 2**attempt)
        wait = policy.delay(attempt, rng=rng)
        assert ceiling / 2 <= wait <= ceiling
    assert policy.delay(0, "0.7", rng=rng) >= 0.7
    assert policy.delay(0, 30, rng=rng) == 1.0  # a huge Retry-After is capped
    assert parse_retry_after("soon") is None and parse_retry_after(-1) is None and parse_retry_after("2") == 2.0
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=2, max_delay_s=1)
