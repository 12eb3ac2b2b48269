"""`Capacity`/`Slot`: the one session count; a slot is given back once, however often it is released."""

from __future__ import annotations

import pytest
from openenv.server.capacity import Capacity
from openenv.server.faults import CapacityExhausted


def test_acquire_up_to_the_maximum_then_none() -> None:
    capacity = Capacity(2)
    first, second = capacity.acquire(), capacity.acquire()
    assert first is not None and second is not None
    assert capacity.active == 2 and not capacity.available()
    assert capacity.acquire() is None
    with pytest.raises(CapacityExhausted) as caught:
        capacity.claim()
    assert (caught.value.active, caught.value.maximum) == (2, 2)


def test_release_is_idempotent() -> None:
    capacity = Capacity(1)
    slot = capacity.claim()
    for _ in range(3):
        slot.release()
    assert capacity.active == 0 and slot.released
    again = capacity.claim()
    assert capacity.active == 1
    slot.release()  # the old slot cannot free the new one
    assert capacity.active == 1
    again.release()
    assert capacity.active == 0


def test_maximum_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Capacity(0)
