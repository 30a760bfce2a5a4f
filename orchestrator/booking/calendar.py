"""Calendar maths: how much of a range is in use, and free, over a time window. Pure sweeps.

Bookings are half-open intervals [start, end) with a demand vector. Usage at an instant is the sum of
the demands of the intervals that contain it; over a window, what matters is the peak usage (per
dimension, each with the instant it first happens), because admission must fit at every instant.
Maintenance windows take the whole capacity. The sweep costs O(k log k) for the k intervals that
overlap the window: callers fetch only those (the bookings table is indexed by range and start).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from connectors.base import DIMENSIONS, ZERO, Resources
from orchestrator.domain.ranges import MaintenanceWindow
from orchestrator.placement.occupancy import peak_of


@dataclass(frozen=True, slots=True)
class Interval:
    """[start, end) holding `demand`."""

    start: datetime
    end: datetime
    demand: Resources


@dataclass(frozen=True, slots=True)
class Peak:
    """The highest usage per dimension over a window, and the first instant each peak is reached."""

    usage: Resources
    at: dict[str, datetime]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


_BY_INSTANT_ENDS_FIRST = itemgetter(0, 1)


def _events(
    intervals: Iterable[Interval], start: datetime, end: datetime
) -> list[tuple[datetime, int, Resources]]:
    events: list[tuple[datetime, int, Resources]] = []
    for iv in intervals:
        if not overlaps(iv.start, iv.end, start, end):
            continue
        # Ends sort before starts at the same instant (kind 0 < 1): [a, b) and [b, c) never overlap.
        events.append((max(iv.start, start), 1, iv.demand))
        if iv.end < end:
            events.append((iv.end, 0, iv.demand))
    events.sort(key=_BY_INSTANT_ENDS_FIRST)
    return events


def peak_usage(intervals: Iterable[Interval], start: datetime, end: datetime) -> Peak:
    """Peak of the summed demand over [start, end), per dimension, with the instant it is first reached.

    A dimension that is never used reports 0 at `start`. One sweep serves admission and placement:
    `orchestrator.placement.occupancy.peak_of` (demands are never negative).
    """
    peak = peak_of(intervals, start, end)
    return Peak(usage=peak.amount, at=peak.at)


def _vector(r: Resources) -> tuple[int, ...]:
    """The demand in DIMENSIONS order (the field order of Resources)."""
    return (r.cpu_millicores, r.memory_mib, r.slots, r.gpus)


def maintenance_intervals(capacity: Resources, windows: Iterable[MaintenanceWindow]) -> list[Interval]:
    """Maintenance takes the whole capacity of the range for its window."""
    return [Interval(w.start, w.end, capacity) for w in windows]


def min_free(
    capacity: Resources,
    intervals: Iterable[Interval],
    start: datetime,
    end: datetime,
    *,
    maintenance: Iterable[MaintenanceWindow] = (),
) -> Peak:
    """Lowest free capacity over [start, end) per dimension (may be negative if already overbooked),
    with the instant each minimum is first reached. Returned as a Peak whose `usage` is the free amount."""
    all_intervals = [*intervals, *maintenance_intervals(capacity, maintenance)]
    peak = peak_usage(all_intervals, start, end)
    return Peak(usage=capacity - peak.usage, at=peak.at)


def free_timeline(
    capacity: Resources,
    intervals: Sequence[Interval],
    start: datetime,
    end: datetime,
    step: timedelta,
    *,
    maintenance: Iterable[MaintenanceWindow] = (),
) -> list[tuple[datetime, datetime, Resources]]:
    """Free capacity per step: [(slot start, slot end, min free in the slot)] covering [start, end).

    One sweep over the sorted events and the slots together: O((k + slots) log k) for k intervals.
    """
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    all_intervals = [*intervals, *maintenance_intervals(capacity, maintenance)]
    events = _events(all_intervals, start, end)
    width = len(DIMENSIONS)
    level = [0] * width
    cap = _vector(capacity)
    out: list[tuple[datetime, datetime, Resources]] = []
    i = 0
    slot = start
    while slot < end:
        slot_end = min(slot + step, end)
        # Everything up to and at the slot's start sets the level it opens with ...
        while i < len(events) and events[i][0] <= slot:
            _apply(level, events[i])
            i += 1
        peak = list(level)
        # ... then each change inside the slot may raise its peak.
        while i < len(events) and events[i][0] < slot_end:
            instant = events[i][0]
            while i < len(events) and events[i][0] == instant:
                _apply(level, events[i])
                i += 1
            peak = [max(p, v) for p, v in zip(peak, level, strict=True)]
        out.append((slot, slot_end, Resources(*(c - p for c, p in zip(cap, peak, strict=True)))))
        slot = slot_end
    return out


def _apply(level: list[int], event: tuple[datetime, int, Resources]) -> None:
    vector = _vector(event[2])
    sign = 1 if event[1] == 1 else -1
    for k in range(len(level)):
        level[k] += sign * vector[k]


def total(demands: Iterable[Resources]) -> Resources:
    result = ZERO
    for d in demands:
        result = result + d
    return result
