"""PostgreSQL: the optimistic one-range admission (the API's booking creation). When another transaction
holds the range's lock, it decides on a read taken without it (`federange_admission_try`), and
`federange_admission_check`, sent with the INSERT and the COMMIT, takes the locks and refuses to let the
write happen when what was read has changed; when the lock is free, it is taken at once, as always."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.domain.errors import CalendarChanged, Refused
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.unit.booking.scenario import at, principal

FULL = Resources(8000, 1024, 4, 0)  # all of ee-range's CPU and slots
SMALL = Resources(1000, 1024, 1, 0)
TRAINER = principal("ee-ops")  # an organisation without a quota
SCHOOL = principal("ee-school")  # one with a quota (its calendar is read and checked too)


@pytest.fixture
def pg(services: Services) -> Services:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the optimistic admission runs on PostgreSQL; SQLite's transactions hold the database")
    with services.uow() as uow:
        seed(uow)
    return services


@contextmanager
def range_lock_held(services: Services) -> Iterator[None]:
    """Another transaction holds ee-range's lock while the block runs (an admission deciding, say)."""
    with services.engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM ranges WHERE slug = 'ee-range' FOR UPDATE"))
        yield
        holder.rollback()


def optimistically(
    services: Services, actor: Principal, asked: BookingRequest, meanwhile: Callable[[], None]
) -> None:
    """Decide `asked` optimistically while the range's lock is held elsewhere (so it reads without it),
    then run `meanwhile` (another transaction, committed), then commit."""
    with services.uow() as uow:
        with range_lock_held(services):
            services.booking(uow.bookings).create_request(actor, asked, optimistic=True)
        meanwhile()


def book(services: Services, asked: BookingRequest) -> None:
    with services.uow() as uow:
        services.booking(uow.bookings).create_request(TRAINER, asked)


def request(start: int, end: int, demand: Resources = SMALL) -> BookingRequest:
    return BookingRequest(
        items=[BookingItem(range_ref="ee-range", demand=demand)], start=at(start), end=at(end), hold=False
    )


def stored(services: Services) -> int:
    with services.engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM bookings")).scalar_one())


def test_with_the_range_lock_free_it_is_taken_at_once_as_always(pg: Services) -> None:
    with pg.uow() as uow:
        pg.booking(uow.bookings).create_request(SCHOOL, request(0, 4), optimistic=True)
        with pg.engine.connect() as other, pytest.raises(OperationalError, match="could not obtain lock"):
            other.execute(text("SELECT 1 FROM ranges WHERE slug = 'ee-range' FOR UPDATE NOWAIT"))
    assert stored(pg) == 1


def test_with_the_range_lock_held_elsewhere_it_decides_without_waiting_or_locking(pg: Services) -> None:
    with pg.uow() as uow:
        with range_lock_held(pg):
            result = pg.booking(uow.bookings).create_request(SCHOOL, request(0, 4), optimistic=True)
        with pg.engine.connect() as other:  # the range and the quota are free while it has not committed
            other.execute(text("SELECT 1 FROM ranges WHERE slug = 'ee-range' FOR UPDATE NOWAIT"))
            other.execute(text("SELECT 1 FROM organisation_quotas FOR UPDATE NOWAIT"))
            other.rollback()
    assert stored(pg) == 1
    with pg.uow() as uow:
        assert [b.id for b in uow.bookings.bookings_of_request(result.request_id)] == [result.bookings[0].id]


@pytest.mark.parametrize("actor", [TRAINER, SCHOOL], ids=["no-quota", "quota"])
def test_an_overlapping_booking_committed_after_the_read_stops_the_write(
    pg: Services, actor: Principal
) -> None:
    # the other booking commits first, on the same range, overlapping the window
    with pytest.raises(CalendarChanged, match="changed while the booking was being decided"):
        optimistically(pg, actor, request(0, 4), lambda: book(pg, request(2, 6)))
    assert stored(pg) == 1  # the other one only


def test_a_change_outside_the_window_lets_the_write_through(pg: Services) -> None:
    # same range, another window: nothing the decision read
    optimistically(pg, SCHOOL, request(0, 4), lambda: book(pg, request(10, 14)))
    assert stored(pg) == 2


def test_the_quota_changed_after_the_read_stops_the_write(pg: Services) -> None:
    def lower_quota() -> None:
        with pg.engine.begin() as other:
            other.execute(
                text("UPDATE organisation_quotas SET slots = 1 WHERE organisation_id = 'ee-school'")
            )

    with pytest.raises(CalendarChanged):
        optimistically(pg, SCHOOL, request(0, 4), lower_quota)
    assert stored(pg) == 0


def test_the_api_path_decides_again_with_the_lock_when_the_calendar_changed(pg: Services) -> None:
    """A booking that fills the range is being committed (its transaction holds the range lock) while
    the API's path reads: the read cannot see it, the decision admits, the check waits for the lock, then
    finds the calendar changed; decided again with the lock, the request is refused for capacity."""
    holder = pg.uow()
    uow = holder.__enter__()
    try:
        pg.booking(uow.bookings).create_request(TRAINER, request(0, 4, FULL))
        outcome: list[BaseException | object] = []

        def api_path() -> None:
            try:
                outcome.append(pg.create_booking_request(SCHOOL, request(1, 3)))
            except BaseException as exc:  # surfaced below
                outcome.append(exc)

        thread = threading.Thread(target=api_path)
        thread.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        with pg.engine.connect() as watch:
            deadline = time.monotonic() + 30
            while watch.execute(waiting).scalar_one() == 0:  # the check is waiting for the range lock
                assert time.monotonic() < deadline, "the optimistic admission never reached its check"
                watch.rollback()
                time.sleep(0.01)
    finally:
        holder.__exit__(None, None, None)
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Refused), outcome
    assert any("ee-range: free 0 instance slots < 1 needed" in r for r in outcome[0].reasons), outcome[
        0
    ].reasons
    assert stored(pg) == 1


def test_the_lock_taken_by_the_check_is_the_admissions(pg: Services) -> None:
    """The check takes the range and quota locks like the locked read: another locker waits for the
    commit (NOWAIT fails while the check's transaction is open after it ran)."""
    with pg.uow() as uow:
        with range_lock_held(pg):
            pg.booking(uow.bookings).create_request(SCHOOL, request(0, 4), optimistic=True)
        uow.bookings.get_quota("ee-school")  # a later statement sends the deferred check and INSERT
        with pg.engine.connect() as other, pytest.raises(OperationalError, match="could not obtain lock"):
            other.execute(text("SELECT 1 FROM ranges WHERE slug = 'ee-range' FOR UPDATE NOWAIT"))
        with pg.engine.connect() as other, pytest.raises(OperationalError, match="could not obtain lock"):
            other.execute(text("SELECT 1 FROM organisation_quotas FOR UPDATE NOWAIT"))
    assert stored(pg) == 1
