"""PostgreSQL: an admission locks its range's row FOR SHARE and one lock per (range, UTC day) its window
touches (`federange_admission_locks`, migration 0017). Admissions on one range whose windows share no
day do not wait for each other; windows that overlap queue; a read without a window, or with one longer
than DAY_LOCKS_MAX days, and any change of the range's capacity or maintenance wait for the admissions in
flight. A race of clients booking windows across a midnight on one range never overbooks it."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.exc import OperationalError

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.db.calendar_sql import DAY_LOCKS_MAX
from orchestrator.domain.catalogue import MaintenanceRecord
from orchestrator.domain.errors import Refused
from orchestrator.domain.ranges import MaintenanceWindow
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.integration.booking.test_concurrency import stored
from tests.unit.booking.scenario import T0, principal

TRAINER = principal("ee-ops")  # no quota: nothing but the range's locks orders its admissions
DAY = timedelta(days=1)
READ = text(
    "SELECT count(*) FROM federange_admission_read(ARRAY['ee-range'], 'ee-ops', :start, :end, :start, NULL)"
)
READ_BOTH = text(
    "SELECT count(*) FROM federange_admission_read(ARRAY['fi-range', 'ee-range'], 'ee-ops', :start, :end,"
    " :start, NULL)"
)


@pytest.fixture
def pg(services: Services) -> Services:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("day locks are PostgreSQL's; SQLite's transactions hold the whole database")
    with services.uow() as uow:
        seed(uow)
    return services


@contextmanager
def admitting(
    services: Services, start: datetime | None, end: datetime | None, *, read: TextClause = READ
) -> Iterator[None]:
    """Another transaction has read ee-range's calendar (or both ranges') over [start, end) with the
    admission's locks and has not committed yet (it is deciding)."""
    with services.engine.connect() as holder:
        holder.execute(read, {"start": start, "end": end})
        yield
        holder.rollback()


def waits(services: Services, statement: str, params: dict[str, object]) -> bool:
    """Whether `statement` has to wait for a lock (it gives up after 200 ms)."""
    with services.engine.connect() as other:
        other.execute(text("SET lock_timeout = '200ms'"))
        try:
            other.execute(text(statement), params)
        except OperationalError as exc:
            if "lock timeout" not in str(exc):
                raise
            return True
        finally:
            other.rollback()
        return False


def reads(
    services: Services, start: datetime | None, end: datetime | None, *, read: TextClause = READ
) -> bool:
    """Whether an admission read of ee-range (or both ranges) over [start, end) gets its locks at once."""
    return not waits(services, str(read), {"start": start, "end": end})


def test_admissions_whose_windows_share_no_day_do_not_wait_for_each_other(pg: Services) -> None:
    with admitting(pg, T0 + timedelta(hours=20), T0 + timedelta(hours=30)):  # day 0 20:00 to day 1 06:00
        assert reads(pg, T0 + 2 * DAY, T0 + 2 * DAY + timedelta(hours=8))  # day 2
        assert reads(pg, T0 - DAY, T0)  # the day before, ending at the holder's first midnight
        assert not reads(pg, T0 + timedelta(hours=29), T0 + timedelta(hours=31))  # overlaps on day 1
        assert not reads(pg, T0 + timedelta(hours=2), T0 + timedelta(hours=3))  # same day, no overlap


def test_a_request_for_two_ranges_locks_the_days_of_each(pg: Services) -> None:
    fi_only = READ.text.replace("ARRAY['ee-range']", "ARRAY['fi-range']")
    with admitting(pg, T0 + timedelta(hours=20), T0 + timedelta(hours=30), read=READ_BOTH):
        assert not reads(pg, T0 + timedelta(hours=25), T0 + timedelta(hours=26))  # ee-range, day 1
        assert not reads(pg, T0, T0 + timedelta(hours=1), read=text(fi_only))  # fi-range, day 0
        assert reads(pg, T0 + 3 * DAY, T0 + 3 * DAY + timedelta(hours=1), read=READ_BOTH)  # both, day 3
    with admitting(pg, T0, T0 + timedelta(hours=1), read=text(fi_only)):
        assert not reads(pg, T0, T0 + timedelta(hours=1), read=READ_BOTH)
        assert reads(pg, T0, T0 + timedelta(hours=1))  # ee-range alone: not fi-range's lock


def test_a_read_without_dates_or_over_a_long_window_locks_the_whole_range(pg: Services) -> None:
    long_start = T0 + 40 * DAY
    with admitting(pg, T0, T0 + timedelta(hours=2)):
        assert not reads(pg, None, None)  # a confirmation's or a renewal's lock
        assert not reads(pg, long_start, long_start + (DAY_LOCKS_MAX + 1) * DAY)  # days apart, but long
        assert reads(pg, long_start, long_start + DAY_LOCKS_MAX * DAY)
    with admitting(pg, long_start, long_start + (DAY_LOCKS_MAX + 1) * DAY):
        assert not reads(pg, T0, T0 + timedelta(hours=2))  # it waits for the long one too


def test_capacity_and_maintenance_changes_wait_for_an_admission_in_flight(pg: Services) -> None:
    def add_maintenance(maintenance_id: str, *, lock_timeout: str = "0") -> None:
        window = MaintenanceWindow(start=T0 + 3 * DAY, end=T0 + 4 * DAY, reason="patching")
        with pg.uow() as uow:
            uow.connection.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            uow.catalogue.add_maintenance(MaintenanceRecord(id=maintenance_id, range_id="ee", window=window))

    with admitting(pg, T0, T0 + timedelta(hours=2)):
        assert waits(pg, "UPDATE ranges SET slots = 1 WHERE id = 'ee'", {})
        with pytest.raises(OperationalError, match="lock timeout"):
            add_maintenance("m-early", lock_timeout="200ms")
    add_maintenance("m-late")  # once the admission is over, it goes through


def test_clients_racing_across_a_midnight_on_one_range_never_overbook(pg: Services) -> None:
    """16 clients book 2-12 hour windows over two days on ee-range (4 slots, 1 slot each): many cross the
    midnight, so admissions that overlap hold different first days and meet only on the days they share.
    Half go through the API's optimistic path. Afterwards no instant holds more than the range's slots."""
    clients, attempts, slots = 16, 25, 4
    errors: list[BaseException] = []
    outcomes: list[str] = []

    def client(n: int) -> None:
        rnd = random.Random(2000 + n)
        try:
            for _ in range(attempts):
                start = T0 + 5 * DAY + timedelta(hours=rnd.randrange(40))
                asked = BookingRequest(
                    items=[BookingItem(range_ref="ee-range", demand=Resources(1000, 0, 1, 0))],
                    start=start,
                    end=start + timedelta(hours=rnd.randint(2, 12)),
                    hold=False,
                )
                try:
                    if n % 2:
                        pg.create_booking_request(TRAINER, asked)
                    else:
                        with pg.uow() as uow:
                            pg.booking(uow.bookings).create_request(TRAINER, asked)
                    outcomes.append("admitted")
                except Refused:
                    outcomes.append("refused")
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[0]
    assert len(outcomes) == clients * attempts
    assert outcomes.count("admitted") > slots * 2 and outcomes.count("refused") > clients  # a real race
    booked = [(start, end) for r, _, _, start, end, _ in stored(pg) if r == "ee"]
    assert len(booked) == outcomes.count("admitted")
    for t in sorted({start for start, _ in booked}):
        assert sum(1 for s, e in booked if s <= t < e) <= slots, f"ee-range over capacity at {t}"
