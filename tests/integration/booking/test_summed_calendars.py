"""PostgreSQL: given a one-range request's demand, the admission read answers a calendar on which that
demand fits whole (every overlapping booking at once, no maintenance in the window, no foreign share limit
for the owner; the owner's within its quota) with one aggregate occupant, one row where there was one
per booking; otherwise booking by booking. Admissions decide the same either way (the oracle property test
runs both ways); these check the rows themselves and the decisions at the edge."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.base import Resources
from orchestrator.booking.ports import CalendarRead
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.domain.bookings import Occupant
from orchestrator.domain.errors import Refused
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.unit.booking.scenario import at, principal

SMALL = Resources(1000, 1024, 1, 0)
EE_OPS, FI_OPS, SCHOOL = principal("ee-ops"), principal("fi-ops"), principal("ee-school")


@pytest.fixture
def pg(services: Services) -> Services:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission read is PostgreSQL's; SQLite reads the calendars one statement each")
    with services.uow() as uow:
        seed(uow)
    return services


def book(services: Services, actor: Principal, start: int, end: int, demand: Resources = SMALL) -> None:
    asked = BookingRequest(
        items=[BookingItem(range_ref="ee-range", demand=demand)], start=at(start), end=at(end), hold=False
    )
    with services.uow() as uow:
        services.booking(uow.bookings).create_request(actor, asked)


def read(
    services: Services, owner: str, start: int, end: int, demand: Resources | None
) -> tuple[list[Occupant], list[Occupant] | None]:
    """ee's calendar and the owner's, as the admission read returns them over [start, end)."""
    window = CalendarRead(start=at(start), end=at(end), not_before=at(0), demand=demand)
    with services.uow() as uow:
        locked = uow.bookings.lock_ranges(["ee-range"], owner_organisation_id=owner, calendar=window)
    return locked.calendars["ee"], locked.owned


def summed(
    range_id: str, owner: str, country: str, start: datetime, end: datetime, *amounts: int
) -> Occupant:
    return Occupant(
        booking_id="",
        range_id=range_id,
        owner_organisation_id=owner,
        owner_country=country,
        start=start,
        end=end,
        demand=Resources(*amounts),
    )


def test_a_calendar_the_demand_fits_whole_comes_as_its_sums(pg: Services) -> None:
    book(pg, EE_OPS, 0, 8)
    book(pg, EE_OPS, 2, 10)
    book(pg, FI_OPS, 4, 6)  # foreign on ee (EE)
    one_by_one, _ = read(pg, "ee-ops", 0, 12, None)
    assert len(one_by_one) == 3 and all(o.booking_id for o in one_by_one)

    calendar, owned = read(pg, "ee-ops", 0, 12, SMALL)  # 3 + 1 slots of ee's 4
    assert calendar == [summed("ee", "", "", at(0), at(12), 3000, 3072, 3, 0)]
    assert owned is None  # ee-ops has no quota

    # Slots 3 + 2 > 4 if they all ran at once: the bookings one by one (the sweep decides).
    assert read(pg, "ee-ops", 0, 12, Resources(1000, 1024, 2, 0))[0] == one_by_one
    # A foreign owner on ee (max_foreign_share 0.5): its share is checked on the bookings themselves.
    assert read(pg, "fi-ops", 0, 12, SMALL)[0] == one_by_one


def test_maintenance_in_the_window_gives_the_bookings_one_by_one(pg: Services) -> None:
    book(pg, EE_OPS, 26, 29)  # ee's maintenance is slots 30-34
    assert [o.booking_id != "" for o in read(pg, "ee-ops", 27, 31, SMALL)[0]] == [True]
    assert read(pg, "ee-ops", 27, 30, SMALL)[0] == [summed("ee", "", "", at(27), at(30), 1000, 1024, 1, 0)]


def test_the_owners_calendar_comes_summed_within_its_quota(pg: Services) -> None:
    book(pg, SCHOOL, 0, 8)
    book(pg, SCHOOL, 4, 12)  # ee-school's quota: 6000 millicores, 100000 MiB, 5 slots, 1 GPU
    _, owned = read(pg, "ee-school", 0, 12, SMALL)
    assert owned == [summed("", "ee-school", "", at(0), at(12), 2000, 2048, 2, 0)]
    _, owned = read(pg, "ee-school", 0, 12, Resources(5000, 1024, 1, 0))  # 7000 > 6000 all at once
    assert owned is not None and [o.booking_id != "" for o in owned] == [True, True]


def test_a_demand_that_fits_the_peak_but_not_the_sum_is_admitted_and_the_next_one_refused(
    pg: Services,
) -> None:
    half = Resources(4000, 1024, 2, 0)  # half of ee's CPU and slots
    book(pg, EE_OPS, 0, 2, half)
    book(pg, EE_OPS, 4, 6, half)  # never at the same time as the first
    book(pg, EE_OPS, 0, 6, half)  # 12000 millicores all at once, 8000 at the peak: fits
    with pytest.raises(Refused) as refused:
        book(pg, EE_OPS, 1, 5, half)
    assert str(refused.value).startswith(
        f"ee-range: free 0 cpu millicores < 4000 needed at {at(1).isoformat()}"
    )
