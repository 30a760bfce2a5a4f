"""Length classes: the index probes find every overlapping booking, and only a bounded few others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Resources
from orchestrator.booking.lengths import MAX_BOOKING_LENGTH, MAX_CLASS, class_span, length_class, probes
from orchestrator.booking.memory import InMemoryBookingStore
from orchestrator.domain.bookings import Booking, BookingStatus, Purpose
from tests.unit.booking.world import rng

T0 = datetime(2027, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (timedelta(minutes=1), 0),
        (H, 0),
        (H + timedelta(seconds=1), 1),
        (2 * H, 1),
        (3 * H, 2),
        (24 * H, 5),
        (MAX_BOOKING_LENGTH, MAX_CLASS),
    ],
)
def test_class_is_the_smallest_power_of_two_hours_that_holds_the_length(
    length: timedelta, expected: int
) -> None:
    assert length_class(T0, T0 + length) == expected
    assert length <= class_span(expected)
    assert expected == 0 or length > class_span(expected - 1)


def test_longer_than_the_top_class_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than the maximum"):
        length_class(T0, T0 + MAX_BOOKING_LENGTH + timedelta(seconds=1))


minutes = st.integers(0, 60 * 24 * 90)


@given(minutes, st.integers(1, 60 * 24 * 60), minutes, st.integers(1, 60 * 24 * 30))
def test_a_probe_covers_every_overlapping_booking(s: int, length: int, ws: int, wlength: int) -> None:
    start, end = T0 + timedelta(minutes=s), T0 + timedelta(minutes=s + length)
    w_start, w_end = T0 + timedelta(minutes=ws), T0 + timedelta(minutes=ws + wlength)
    if not (start < w_end and end > w_start):
        return
    c = length_class(start, end)
    (lower, upper) = next((lo, hi) for cls, lo, hi in probes(w_start, w_end) if cls == c)
    assert lower < start < upper


def booking(n: int, start: datetime, length: timedelta) -> Booking:
    return Booking(
        id=f"b{n:06d}",
        request_id=f"r{n}",
        range_id="ee",
        range_slug="ee-range",
        owner_organisation_id="ee-school",
        owner_country="EE",
        created_by="",
        purpose=Purpose.MANUAL,
        reference=None,
        start=start,
        end=start + length,
        demand=Resources(1, 0, 0, 0),
        status=BookingStatus.CONFIRMED,
        status_reason="",
        hold_expires_at=None,
        created_at=T0,
        updated_at=T0,
    )


def test_reads_grow_with_overlaps_not_with_the_calendar() -> None:
    """10,000 bookings (a few of them weeks long): the probes for a 4-hour window read a few dozen."""
    store = InMemoryBookingStore(ranges=[rng("ee")])
    for n in range(10_000):
        length = 24 * 14 * H if n % 1000 == 0 else (1 + n % 8) * H
        store.add_bookings([booking(n, T0 + n * timedelta(minutes=30), length)])
    window = (T0 + 2500 * H, T0 + 2504 * H)
    read = list(store._by_range.candidates("ee", *window))
    overlapping = store.occupants("ee", *window, now=T0)
    assert 0 < len(overlapping) <= len(read) <= 2 * len(overlapping)
    assert {o.booking_id for o in overlapping} == {
        b.id for b in store.bookings.values() if b.start < window[1] and b.end > window[0]
    }
