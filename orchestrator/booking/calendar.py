"""Calendar maths over a range's bookings: free capacity over a window, and per step. Pure.

Bookings are half-open intervals [start, end) with a demand vector (`orchestrator.domain.sweep`, whose
peak sweep booking shares with placement). Maintenance windows take the whole capacity. The sweeps cost
O(k log k) for the k intervals that overlap the window: callers fetch only those (the bookings table is
indexed by range and start).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter

from connectors.base import DIMENSIONS, Resources
from orchestrator.domain.ranges import MaintenanceWindow
from orchestrator.domain.sweep import Extreme, Interval, overlaps, peak_of

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
) -> Extreme:
    """Lowest free capacity over [start, end) per dimension (may be negative if already overbooked),
    with the instant each minimum is first reached."""
    peak = peak_of([*intervals, *maintenance_intervals(capacity, maintenance)], start, end)
    return Extreme(amount=capacity - peak.amount, at=peak.at)


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
