"""The fast window query over sorted calendars agrees with the booking engine's answers and with brute force,
exactly."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import DIMENSIONS, Resources
from orchestrator.booking.calendar import min_free
from orchestrator.domain.ranges import MaintenanceWindow, SharingPolicy
from orchestrator.domain.sweep import Interval, peak_of
from orchestrator.placement.occupancy import (
    RangeBookings,
    RangeCalendar,
    build_snapshot,
    foreign_cap,
    free_over,
)
from orchestrator.placement.request import Owner
from orchestrator.placement.snapshot import Health
from tests.unit.placement.builders import T0, a_range


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


demands = st.builds(Resources, st.integers(0, 9), st.integers(0, 5), st.integers(0, 3), st.integers(0, 1))
intervals = st.lists(
    st.builds(
        lambda s, n, d: Interval(at(s), at(s + n), d), st.integers(0, 120), st.integers(1, 40), demands
    ),
    max_size=25,
)
windows = st.lists(
    st.builds(
        lambda s, n: MaintenanceWindow(start=at(s), end=at(s + n)), st.integers(0, 120), st.integers(1, 30)
    ),
    max_size=2,
)


@settings(max_examples=500, deadline=None)
@given(intervals, windows, st.integers(0, 130), st.integers(1, 60), st.integers(0, 30))
def test_free_over_equals_calendar_min_free(
    ivs: list[Interval], maintenance: list[MaintenanceWindow], s: int, length: int, slack: int
) -> None:
    capacity = Resources(40, 20, 10, 2)
    rng = a_range("ee-range", capacity=capacity, maintenance=tuple(maintenance))
    expected = min_free(capacity, ivs, at(s), at(s + length), maintenance=maintenance)
    built = free_over(rng, RangeCalendar.build(ivs), at(s), at(s + length))
    assert (built.amount, built.at) == (expected.amount, expected.at)
    # A looser (but true) bound on booking length, as a policy's max_booking_length gives, changes nothing.
    ordered = sorted(ivs, key=lambda iv: iv.start)
    loose = RangeCalendar(
        ordered, max((iv.end - iv.start for iv in ivs), default=timedelta(0)) + at(slack) - T0
    )
    again = free_over(rng, loose, at(s), at(s + length))
    assert (again.amount, again.at) == (expected.amount, expected.at)


@settings(max_examples=300, deadline=None)
@given(intervals, st.integers(0, 130), st.integers(1, 60))
def test_overlapping_and_peak_match_brute_force(ivs: list[Interval], s: int, length: int) -> None:
    calendar = RangeCalendar.build(ivs)
    start, end = at(s), at(s + length)
    assert sorted(calendar.overlapping(start, end), key=repr) == sorted(
        (iv for iv in ivs if iv.start < end and start < iv.end), key=repr
    )
    # The peak, dimension by dimension, against the level at every minute of the window.
    got = peak_of(ivs, start, end)
    for d in DIMENSIONS:
        levels = [
            sum(iv.demand.get(d) for iv in ivs if iv.start <= at(m) < iv.end) for m in range(s, s + length)
        ]
        assert got.amount.get(d) == max(levels)
        assert got.at[d] == (at(s + levels.index(max(levels))) if max(levels) > 0 else start)


def test_foreign_owner_gets_only_the_foreign_share() -> None:
    rng = a_range(
        "lv-range",
        country="LV",
        capacity=Resources(10000, 8192, 10),
        policy=SharingPolicy(max_foreign_share=0.29),
    )
    domestic = [Interval(at(0), at(600), Resources(3000, 1024, 2))]
    foreign = [Interval(at(60), at(120), Resources(2000, 1024, 1))]
    entry = RangeBookings(
        range=rng,
        calendar=RangeCalendar.build([*domestic, *foreign]),
        foreign=RangeCalendar.build(foreign),
        health=Health(ok=False, reason="probe failed: timeout"),
    )
    foreigner = Owner(organisation_id="o-de", name="CERT-X", country="DE")
    snapshot = build_snapshot([entry], start=at(0), end=at(600), owner=foreigner)
    (state,) = snapshot.ranges
    assert state.free == Resources(5000, 6144, 7)
    # floor(0.29 x capacity) = 2900 cpu, 2375 MiB, 2 slots; foreign bookings hold 2000, 1024, 1 at minute 60.
    assert foreign_cap(rng.capacity, 0.29) == Resources(2900, 2375, 2, 0)
    assert state.owner_free == Resources(900, 1351, 1, 0)
    assert state.usable == state.owner_free
    assert state.usable_at["cpu_millicores"] == at(60)
    assert state.health.reason == "probe failed: timeout"

    local = build_snapshot(
        [entry], start=at(0), end=at(600), owner=Owner(organisation_id="o-lv", name="CERT-LV", country="LV")
    )
    assert local.ranges[0].owner_free is None
    assert local.ranges[0].usable == Resources(5000, 6144, 7)


@settings(max_examples=200, deadline=None)
@given(intervals, intervals, st.floats(0, 1), st.integers(0, 130), st.integers(1, 60))
def test_owner_free_never_exceeds_total_free(
    domestic: list[Interval], foreign: list[Interval], share: float, s: int, length: int
) -> None:
    rng = a_range(
        "lv-range",
        country="LV",
        capacity=Resources(40, 20, 10, 2),
        policy=SharingPolicy(max_foreign_share=share),
    )
    entry = RangeBookings(
        range=rng, calendar=RangeCalendar.build([*domestic, *foreign]), foreign=RangeCalendar.build(foreign)
    )
    owner = Owner(organisation_id="o-de", name="CERT-X", country="DE")
    (state,) = build_snapshot([entry], start=at(s), end=at(s + length), owner=owner).ranges
    assert state.usable.fits_in(state.free)
    held = peak_of(foreign, at(s), at(s + length)).amount
    assert state.usable.fits_in(foreign_cap(rng.capacity, share) - held)
