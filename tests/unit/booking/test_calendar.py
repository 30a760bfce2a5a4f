"""Calendar sweeps against a brute-force check at every instant that matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Resources
from orchestrator.booking.calendar import min_free
from orchestrator.domain.ranges import MaintenanceWindow
from orchestrator.domain.sweep import Interval, peak_of

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_back_to_back_bookings_do_not_overlap() -> None:
    a = Interval(at(0), at(60), Resources(1000, 0, 1))
    b = Interval(at(60), at(120), Resources(1000, 0, 1))
    peak = peak_of([a, b], at(0), at(120))
    assert peak.amount == Resources(1000, 0, 1)


def test_peak_names_the_first_instant() -> None:
    ivs = [Interval(at(0), at(60), Resources(500)), Interval(at(30), at(90), Resources(700))]
    peak = peak_of(ivs, at(0), at(120))
    assert peak.amount.cpu_millicores == 1200
    assert peak.at["cpu_millicores"] == at(30)


def test_maintenance_takes_everything() -> None:
    cap = Resources(4000, 8192, 4)
    free = min_free(cap, [], at(0), at(60), maintenance=[MaintenanceWindow(start=at(50), end=at(70))])
    assert free.amount == Resources(0, 0, 0, 0)
    assert free.at["slots"] == at(50)


intervals = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 20), st.integers(0, 9), st.integers(0, 3)).map(
        lambda t: Interval(at(t[0]), at(t[0] + t[1]), Resources(t[2], 0, t[3]))
    ),
    max_size=12,
)


@given(intervals, st.integers(0, 60), st.integers(1, 30))
def test_peak_matches_brute_force(ivs: list[Interval], s: int, length: int) -> None:
    start, end = at(s), at(s + length)
    peak = peak_of(ivs, start, end)
    levels = []
    for minute in range(s, s + length):
        t = at(minute)
        levels.append(sum(iv.demand.cpu_millicores for iv in ivs if iv.start <= t < iv.end))
    assert peak.amount.cpu_millicores == max(levels)
    first = s + levels.index(max(levels))
    if max(levels) > 0:
        assert peak.at["cpu_millicores"] == at(first)


def test_dimension_order_is_the_field_order_of_resources() -> None:
    """The sweep adds demands as tuples in DIMENSIONS order and builds Resources positionally from them."""
    from dataclasses import fields

    from connectors.base import DIMENSIONS

    assert tuple(f.name for f in fields(Resources)) == DIMENSIONS
    peak = peak_of([Interval(at(0), at(10), Resources(1, 2, 3, 4))], at(0), at(10))
    assert peak.amount == Resources(1, 2, 3, 4)


@given(intervals, st.integers(0, 40), st.integers(1, 40), st.integers(1, 9))
def test_free_timeline_matches_brute_force(ivs: list[Interval], s: int, length: int, step: int) -> None:
    from orchestrator.booking.calendar import free_timeline

    cap = Resources(50, 0, 20)
    windows = [MaintenanceWindow(start=at(30), end=at(33))]
    slots = free_timeline(cap, ivs, at(s), at(s + length), timedelta(minutes=step), maintenance=windows)
    edges = list(range(s, s + length, step))
    assert [a for a, _, _ in slots] == [at(m) for m in edges]
    for (_, b, free), m in zip(slots, edges, strict=True):
        assert b == at(min(m + step, s + length))
        worst_cpu, worst_slots = 0, 0
        for minute in range(m, min(m + step, s + length)):
            t = at(minute)
            closed = any(w.start <= t < w.end for w in windows)
            # Maintenance takes the whole capacity on top of what is booked (free may go negative).
            cpu = 50 * closed + sum(iv.demand.cpu_millicores for iv in ivs if iv.start <= t < iv.end)
            used = 20 * closed + sum(iv.demand.slots for iv in ivs if iv.start <= t < iv.end)
            worst_cpu, worst_slots = max(worst_cpu, cpu), max(worst_slots, used)
        assert (free.cpu_millicores, free.slots) == (50 - worst_cpu, 20 - worst_slots)
