"""Free capacity of many ranges over one window, fast: a range's bookings sorted by start, queried by bisect.

`booking.calendar.min_free` sweeps every interval it is given. Placement asks the same question for every
range of the federation at once, over calendars of thousands of bookings, so here a calendar is kept
sorted by start together with a bound on booking length: only the intervals with
`window.start - max_length < start < window.end` can overlap the window, and bisect finds them in
O(log n). Both then run the same sweep (`orchestrator.domain.sweep.peak_of`), so the answers are exactly
those of `booking.calendar.min_free` (a property test checks it).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from operator import attrgetter

from connectors.base import DIMENSIONS, Resources
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.domain.sweep import Extreme, Interval, Occupied, peak_of
from orchestrator.placement.request import Owner
from orchestrator.placement.snapshot import HEALTHY, Health, PlacementSnapshot, RangeState

_start = attrgetter("start")


@dataclass(frozen=True)
class RangeCalendar:
    """One range's booked intervals, sorted by start; no interval is longer than `max_length`.

    Both are preconditions (the bookings table gives rows ordered by start and knows the longest booking,
    or the policy's `max_booking_length` bounds it); `build` establishes them from any iterable.
    Demands are non-negative.
    """

    intervals: Sequence[Occupied]
    max_length: timedelta

    @classmethod
    def build(cls, intervals: Iterable[Occupied]) -> RangeCalendar:
        ordered = sorted(intervals, key=_start)
        longest = max((iv.end - iv.start for iv in ordered), default=timedelta(0))
        return cls(ordered, longest)

    def overlapping(self, start: datetime, end: datetime) -> list[Occupied]:
        """The intervals that overlap [start, end)."""
        lo = bisect.bisect_right(self.intervals, start - self.max_length, key=_start)
        hi = bisect.bisect_left(self.intervals, end, lo=lo, key=_start)
        return [iv for iv in self.intervals[lo:hi] if iv.end > start]


def free_over(rng: RangeSnapshot, calendar: RangeCalendar, start: datetime, end: datetime) -> Extreme:
    """Lowest free capacity of `rng` over [start, end), maintenance windows taking the whole capacity.

    Equal to `calendar.min_free(rng.capacity, calendar.intervals, start, end, maintenance=rng.maintenance)`.
    """
    relevant: list[Occupied] = calendar.overlapping(start, end)
    relevant.extend(Interval(w.start, w.end, rng.capacity) for w in rng.maintenance)
    peak = peak_of(relevant, start, end)
    return Extreme(amount=rng.capacity - peak.amount, at=peak.at)


def foreign_cap(capacity: Resources, share: float) -> Resources:
    """What organisations from other countries may hold at any instant: floor(capacity x share)."""
    exact = Fraction(share).limit_denominator(1_000_000)
    return Resources.from_dict({d: int(v * exact) for d, v in capacity.items()})


def owner_free_over(
    rng: RangeSnapshot, total: Extreme, foreign: RangeCalendar, start: datetime, end: datetime
) -> Extreme:
    """What a foreign owner may use: min(total free, foreign cap - peak foreign usage) per dimension."""
    held = peak_of(foreign.overlapping(start, end), start, end)
    room = foreign_cap(rng.capacity, rng.policy.max_foreign_share) - held.amount
    free: dict[str, int] = {}
    at: dict[str, datetime] = {}
    for d in DIMENSIONS:
        if room.get(d) < total.amount.get(d):
            free[d], at[d] = room.get(d), held.at[d]
        else:
            free[d], at[d] = total.amount.get(d), total.at[d]
    return Extreme(amount=Resources.from_dict(free), at=at)


@dataclass(frozen=True, kw_only=True)
class RangeBookings:
    """A range with its calendar, the part of it held by foreign organisations, and its health.

    `foreign` holds the bookings of organisations from other countries than the range's; it is only read
    when the requesting owner is itself foreign and the policy caps the foreign share below 1.
    """

    range: RangeSnapshot
    calendar: RangeCalendar
    foreign: RangeCalendar | None = None
    health: Health = HEALTHY


def range_state(
    entry: RangeBookings, *, start: datetime, end: datetime, owner: Owner | None = None
) -> RangeState:
    rng = entry.range
    total = free_over(rng, entry.calendar, start, end)
    owner_free: Extreme | None = None
    if (
        owner is not None
        and entry.foreign is not None
        and owner.country != rng.country
        and rng.policy.max_foreign_share < 1
    ):
        owner_free = owner_free_over(rng, total, entry.foreign, start, end)
    return RangeState(
        range=rng,
        free=total.amount,
        free_at=total.at,
        owner_free=owner_free.amount if owner_free else None,
        owner_free_at=owner_free.at if owner_free else None,
        health=entry.health,
    )


def build_snapshot(
    entries: Iterable[RangeBookings], *, start: datetime, end: datetime, owner: Owner | None = None
) -> PlacementSnapshot:
    """The snapshot placement decides over: each range's free capacity over [start, end)."""
    return PlacementSnapshot(
        start=start,
        end=end,
        ranges=tuple(range_state(e, start=start, end=end, owner=owner) for e in entries),
    )
