"""The oracle property on the real stores: the same random operation sequences, each operation in its
own transaction on SQLite and PostgreSQL, decided exactly like the brute-force oracle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from orchestrator.booking.ports import BookingQuery
from orchestrator.booking.service import BookingService
from orchestrator.domain.clock import FrozenClock
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.unit.booking.scenario import Run, at, long_operations


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=long_operations)
def test_sql_store_decides_like_the_oracle(services: Services, ops: list[object]) -> None:
    with services.uow() as uow:
        if uow.catalogue.get_range("ee") is None:
            seed(uow)
        uow.session.execute(text("DELETE FROM bookings"))
        uow.session.execute(text("DELETE FROM audit_events"))
    clock = FrozenClock(at(0))

    @contextmanager
    def transaction() -> Iterator[BookingService]:
        with services.uow() as uow:
            yield BookingService(store=uow.bookings, clock=clock, hold_ttl=timedelta(hours=1))

    run = Run(transaction=transaction, clock=clock)
    for n, op in enumerate(ops):
        run.apply(op, n)
    with services.uow() as uow:
        listed, _ = uow.bookings.list_bookings(BookingQuery(), limit=10_000, offset=0)
    run.check_state((b.id, b.status.value, b.end) for b in listed)
