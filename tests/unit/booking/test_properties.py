"""Property: random sequences of book / renew / confirm / cancel / approve / expire / time passing give the
same decision as a brute-force oracle at every step, and never leave an instant overbooked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from connectors.base import Resources
from orchestrator.booking.memory import InMemoryBookingStore
from orchestrator.booking.service import BookingService
from orchestrator.domain.bookings import Quota
from orchestrator.domain.clock import FrozenClock
from tests.unit.booking.scenario import QUOTAS, RANGES, Run, at, operations, organisations, snapshot


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_engine_decides_like_the_oracle(ops: list[object]) -> None:
    store = InMemoryBookingStore(ranges=[snapshot(r) for r in RANGES], organisations=organisations())
    for org, limit in QUOTAS.items():
        store.put_quota(Quota(organisation_id=org, limit=Resources(*limit)))
    clock = FrozenClock(at(0))
    service = BookingService(store=store, clock=clock, hold_ttl=timedelta(hours=1))

    @contextmanager
    def transaction() -> Iterator[BookingService]:
        yield service

    run = Run(transaction=transaction, clock=clock)
    for n, op in enumerate(ops):
        run.apply(op, n)
        run.check_state((b.id, b.status.value, b.end) for b in store.bookings.values())
