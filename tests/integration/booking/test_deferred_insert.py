"""An admission's INSERT is deferred to its transaction's COMMIT (one round trip less under the range
lock on PostgreSQL), yet every later statement of the same transaction sees it: whatever runs next sends
it first, through SQLAlchemy or the driver's cursor, and a rollback drops it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.db.engine import BEGIN, DEFERRED
from orchestrator.db.tables import BookingRow
from orchestrator.domain.clock import FrozenClock
from orchestrator.domain.errors import Refused
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.unit.booking.scenario import T0, at, principal

POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]
SCHOOL = principal("ee-school")


def request(slots: int) -> BookingRequest:
    return BookingRequest(
        items=[BookingItem(range_ref="ee", demand=Resources(0, 0, slots, 0))],
        start=at(2),
        end=at(6),
        hold=False,
    )


@pytest.fixture
def seeded(services: Services) -> Services:
    services.clock = FrozenClock(T0 - timedelta(hours=1))
    with services.uow() as uow:
        seed(uow)
    return services


def count(services: Services) -> int:
    with services.uow() as uow:
        return int(uow.connection.execute(select(func.count()).select_from(BookingRow)).scalar_one())


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_the_next_statement_of_the_transaction_sends_the_deferred_insert_first(seeded: Services) -> None:
    with seeded.uow() as uow:
        seeded.booking(uow.bookings).create_request(SCHOOL, request(1))
        assert DEFERRED in uow.connection.info  # not sent yet
        seen = uow.connection.execute(text("SELECT count(*) FROM bookings")).scalar_one()  # SQLAlchemy
        assert seen == 1 and DEFERRED not in uow.connection.info
    assert count(seeded) == 1


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_second_admission_in_the_transaction_counts_the_first(seeded: Services) -> None:
    def three_in_one_transaction() -> None:
        with seeded.uow() as uow:
            booking = seeded.booking(uow.bookings)
            booking.create_request(SCHOOL, request(2))  # half of the range's 4 slots
            booking.create_request(SCHOOL, request(2))  # its read (the driver's cursor) sends the first
            booking.create_request(SCHOOL, request(1))  # sees both: over the 4 slots

    with pytest.raises(Refused) as refused:
        three_in_one_transaction()
    assert "slots" in str(refused.value)
    assert count(seeded) == 0  # the refusal rolled back the whole transaction, deferred writes included


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_deferred_insert_is_committed_alone_and_dropped_by_a_rollback(seeded: Services) -> None:
    with seeded.uow() as uow:
        seeded.booking(uow.bookings).create_request(SCHOOL, request(1))
    assert count(seeded) == 1

    def failing_after_the_admission() -> None:
        with seeded.uow() as uow:
            seeded.booking(uow.bookings).create_request(SCHOOL, request(1))
            raise RuntimeError("the caller fails after the admission")

    with pytest.raises(RuntimeError):
        failing_after_the_admission()
    assert count(seeded) == 1
    with seeded.uow() as uow:  # the connection went back to the pool with nothing left deferred
        assert uow.connection.info.get(DEFERRED, [BEGIN]) == [BEGIN]  # but this transaction's BEGIN
