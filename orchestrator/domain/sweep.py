"""The calendar sweep: the peak of summed demand over a window. Pure; shared by booking and placement.

A range's bookings are half-open intervals [start, end) holding a demand vector. Usage at an instant is
the sum of the demands of the intervals that contain it; over a window what matters is the peak usage,
per dimension, with the first instant it is reached, because a new demand must fit at every instant.
Admission, quotas and free capacity (`orchestrator.booking`) and placement's snapshot
(`orchestrator.placement.occupancy`) all ask this one question, so they all answer it here. The sweep
costs O(k log k) for the k intervals it is given: callers pass only those that can overlap the window
(the bookings table is indexed for that; placement bisects a sorted calendar).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectors.base import DIMENSIONS, Resources


class Occupied(Protocol):
    """[start, end) holding `demand` (a booking, a hold, a maintenance window): anything of that shape."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def demand(self) -> Resources: ...


@dataclass(frozen=True, slots=True)
class Interval:
    """A plain Occupied value: [start, end) holding `demand`."""

    start: datetime
    end: datetime
    demand: Resources


@dataclass(frozen=True, slots=True)
class Extreme:
    """A per-dimension extreme over a window (the peak usage, or the lowest free capacity), with the first
    instant each dimension reaches it."""

    amount: Resources
    at: dict[str, datetime]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def peak_of(intervals: Iterable[Occupied], start: datetime, end: datetime) -> Extreme:
    """Peak summed demand over [start, end), per dimension, with the first instant of each peak.

    A dimension that is never used reports 0 at `start`. Demands are never negative, so the levels only
    need reading after a start: ends sort before starts at the same instant ([a, b) and [b, c) never
    overlap), which makes the level after the last start at an instant the level there. The four
    dimensions are kept in locals (this runs once per admission and per range of a placement).
    """
    events: list[tuple[datetime, int, int, int, int, int]] = []
    for iv in intervals:
        if iv.end <= start or iv.start >= end:
            continue
        d = iv.demand
        events.append(
            (iv.start if iv.start > start else start, 1, d.cpu_millicores, d.memory_mib, d.slots, d.gpus)
        )
        if iv.end < end:
            events.append((iv.end, 0, d.cpu_millicores, d.memory_mib, d.slots, d.gpus))
    events.sort(key=lambda e: (e[0], e[1]))
    c = m = s = g = 0
    bc = bm = bs = bg = 0
    ac = am = as_ = ag = start
    for t, kind, dc, dm, ds, dg in events:
        if kind == 0:
            c -= dc
            m -= dm
            s -= ds
            g -= dg
            continue
        c += dc
        m += dm
        s += ds
        g += dg
        if c > bc:
            bc, ac = c, t
        if m > bm:
            bm, am = m, t
        if s > bs:
            bs, as_ = s, t
        if g > bg:
            bg, ag = g, t
    return Extreme(amount=Resources(bc, bm, bs, bg), at=dict(zip(DIMENSIONS, (ac, am, as_, ag), strict=True)))
