"""The in-memory fake keeps the BookingStore contract."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.booking.memory import InMemoryBookingStore
from orchestrator.booking.ports import BookingStore
from tests.unit.booking.scenario import RANGES, organisations, snapshot
from tests.unit.booking.store_contract import check_contract


def test_memory_store_keeps_the_contract() -> None:
    store = InMemoryBookingStore(ranges=[snapshot(r) for r in RANGES], organisations=organisations())

    @contextmanager
    def open_store() -> Iterator[BookingStore]:
        yield store

    check_contract(open_store, lambda: [e.action for e in store.audit])
