"""What occupies a range over a window, and how much of it is free for a given owner. Pure.

Admission and placement both answer "how much can this organisation still book here over this window?"
with `free_for_owner`, so a placement that fits a snapshot is one that admission accepts (as long as
nothing changed in between).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from connectors.base import DIMENSIONS, Resources
from orchestrator.booking.calendar import min_free
from orchestrator.domain.bookings import Occupant
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.domain.sweep import Extreme, Interval, overlaps, peak_of


@dataclass(frozen=True, slots=True)
class Occupancy:
    """The bookings that take capacity on one range over a window, as calendar intervals.

    `intervals` holds every occupying booking (HELD with a live hold, PENDING_APPROVAL, CONFIRMED,
    ACTIVE); `foreign` is the subset owned by organisations from another country than the range's, which
    counts against the range's `max_foreign_share`.
    """

    range_id: str
    intervals: tuple[Interval, ...]
    foreign: tuple[Interval, ...]

    @classmethod
    def of(cls, snapshot: RangeSnapshot, occupants: Iterable[Occupant]) -> Occupancy:
        """Build from what occupies this range (occupants of other ranges are left out)."""
        live = [o for o in occupants if o.range_id == snapshot.id]
        return cls(
            range_id=snapshot.id,
            intervals=tuple(Interval(b.start, b.end, b.demand) for b in live),
            foreign=tuple(
                Interval(b.start, b.end, b.demand) for b in live if b.owner_country != snapshot.country
            ),
        )

    def within(self, start: datetime, end: datetime) -> Occupancy:
        """Only the intervals overlapping [start, end)."""
        return Occupancy(
            range_id=self.range_id,
            intervals=tuple(iv for iv in self.intervals if overlaps(iv.start, iv.end, start, end)),
            foreign=tuple(iv for iv in self.foreign if overlaps(iv.start, iv.end, start, end)),
        )


@dataclass(frozen=True, slots=True)
class OwnerFree:
    """Free capacity for one owner over a window, per dimension.

    `free` is the lowest amount available at any instant of the window (it may be negative when the range
    is already overbooked, e.g. after its capacity shrank); `at[d]` is the first instant that minimum is
    reached; `limited_by[d]` says whether the range's capacity or its foreign share set it.
    """

    free: Resources
    at: dict[str, datetime]
    limited_by: dict[str, str]


CAPACITY = "capacity"
FOREIGN_SHARE = "foreign share"


def is_foreign(snapshot: RangeSnapshot, owner_country: str) -> bool:
    return owner_country != snapshot.country


def foreign_limit(snapshot: RangeSnapshot) -> Resources:
    """What organisations from other countries may hold at once: capacity x max_foreign_share, rounded
    down per dimension."""
    # The share is a decimal as typed by the operator (0.29 means 29%): read it exactly, not as a float.
    share = Fraction(str(snapshot.policy.max_foreign_share))
    return Resources.from_dict({d: math.floor(v * share) for d, v in snapshot.capacity.items()})


def capacity_free(
    snapshot: RangeSnapshot, intervals: Sequence[Interval], start: datetime, end: datetime
) -> Extreme:
    """Capacity minus maintenance minus the peak of `intervals` over [start, end)."""
    return min_free(snapshot.capacity, intervals, start, end, maintenance=snapshot.maintenance)


def foreign_free(
    snapshot: RangeSnapshot, foreign: Sequence[Interval], start: datetime, end: datetime
) -> Extreme:
    """The foreign limit minus the peak of foreign bookings over [start, end)."""
    peak = peak_of(foreign, start, end)
    return Extreme(amount=foreign_limit(snapshot) - peak.amount, at=peak.at)


def free_for_owner(
    snapshot: RangeSnapshot,
    occupancy: Occupancy,
    *,
    organisation_id: str,
    country: str,
    start: datetime,
    end: datetime,
) -> OwnerFree:
    """Free capacity of `snapshot` over [start, end) for an owner (organisation id and country).

    Capacity minus maintenance minus peak usage; for an owner from another country than the range's,
    additionally capped by the foreign limit minus the peak of foreign bookings. Sharing-policy allow-lists,
    booking length and lead time are not considered here (see `orchestrator.booking.policy`);
    `organisation_id` is part of the contract so per-organisation rules can join without a signature change.
    """
    del organisation_id  # the capacity maths depends on the owner's country only
    overall = capacity_free(snapshot, occupancy.intervals, start, end)
    free = overall.amount.as_dict()
    at = dict(overall.at)
    limited_by = dict.fromkeys(DIMENSIONS, CAPACITY)
    if is_foreign(snapshot, country) and snapshot.policy.max_foreign_share < 1.0:
        foreign = foreign_free(snapshot, occupancy.foreign, start, end)
        for d in DIMENSIONS:
            if foreign.amount.get(d) < free[d]:
                free[d] = foreign.amount.get(d)
                at[d] = foreign.at[d]
                limited_by[d] = FOREIGN_SHARE
    return OwnerFree(free=Resources.from_dict(free), at=at, limited_by=limited_by)


def fits(demand: Resources, free: Resources) -> bool:
    """Whether `demand` fits `free` in every dimension it uses (an unused dimension never blocks)."""
    return all(v <= free.get(d) for d, v in demand.items() if v > 0)


def lowest(a: Resources, b: Resources) -> Resources:
    """The pointwise minimum of two vectors."""
    return Resources.from_dict({d: min(a.get(d), b.get(d)) for d in DIMENSIONS})
