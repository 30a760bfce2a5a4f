"""Admission: does a demand fit a range (and the owner's quota) over a window? Pure decisions with reasons.

The rule, per range and per dimension the demand uses: at every instant of the window, the peak of what
already occupies the range plus the new demand must fit the capacity minus maintenance; for an owner from
another country than the range's, the foreign bookings plus the demand must also fit the foreign share.
Dimensions the demand does not use are not checked (a demand of 0 cannot make an overbooked dimension
worse). Every refusal names the range, the dimension, the instant of the peak, and needed vs free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.base import DIMENSION_LABELS, DIMENSIONS, Resources
from orchestrator.booking.occupancy import (
    Occupancy,
    capacity_free,
    foreign_free,
    foreign_limit,
    is_foreign,
)
from orchestrator.booking.policy import Owner
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.domain.sweep import Interval, peak_of


@dataclass(frozen=True, kw_only=True)
class Claim:
    """New demand on one range over [start, end): a booking to create, or the extension of one."""

    snapshot: RangeSnapshot
    start: datetime
    end: datetime
    demand: Resources


def _used(demand: Resources) -> list[str]:
    return [d for d in DIMENSIONS if demand.get(d) > 0]


def _maintenance_note(snapshot: RangeSnapshot, at: datetime) -> str:
    for window in snapshot.maintenance:
        if window.start <= at < window.end:
            why = f": {window.reason}" if window.reason else ""
            return f" (maintenance {window.start.isoformat()} to {window.end.isoformat()}{why})"
    return ""


def fits_all_at_once(claim: Claim, intervals: Sequence[Interval]) -> bool:
    """A sufficient condition, cheaper than the sweep: no maintenance in the window, and the claim fits
    the capacity even if every booking overlapping the window ran at the same instant (the peak of the
    calendar is never more than their sum)."""
    start, end, capacity = claim.start, claim.end, claim.snapshot.capacity
    if any(w.start < end and start < w.end for w in claim.snapshot.maintenance):
        return False
    cpu, memory, slots, gpus = (
        claim.demand.cpu_millicores,
        claim.demand.memory_mib,
        claim.demand.slots,
        claim.demand.gpus,
    )
    for iv in intervals:
        if iv.start < end and start < iv.end:
            d = iv.demand
            cpu, memory, slots, gpus = (
                cpu + d.cpu_millicores,
                memory + d.memory_mib,
                slots + d.slots,
                gpus + d.gpus,
            )
    return (
        cpu <= capacity.cpu_millicores
        and memory <= capacity.memory_mib
        and slots <= capacity.slots
        and gpus <= capacity.gpus
    )


def capacity_problems(claim: Claim, occupancy: Occupancy, owner: Owner) -> list[str]:
    """Reasons the claim does not fit the range's free capacity (and foreign share) over its window."""
    snapshot, demand = claim.snapshot, claim.demand
    problems: list[str] = []
    share_limited = is_foreign(snapshot, owner.country) and snapshot.policy.max_foreign_share < 1.0
    if not share_limited and fits_all_at_once(claim, occupancy.intervals):
        return problems
    free = capacity_free(snapshot, occupancy.intervals, claim.start, claim.end)
    for d in _used(demand):
        if demand.get(d) > free.amount.get(d):
            at = free.at[d]
            problems.append(
                f"{snapshot.slug}: free {max(free.amount.get(d), 0)} {DIMENSION_LABELS[d]} < "
                f"{demand.get(d)} needed at {at.isoformat()}{_maintenance_note(snapshot, at)}"
            )
    if is_foreign(snapshot, owner.country) and snapshot.policy.max_foreign_share < 1.0:
        limit = foreign_limit(snapshot)
        foreign = foreign_free(snapshot, occupancy.foreign, claim.start, claim.end)
        share = snapshot.policy.max_foreign_share
        for d in _used(demand):
            if demand.get(d) > foreign.amount.get(d):
                problems.append(
                    f"{snapshot.slug}: sharing policy lets organisations from outside {snapshot.country} "
                    f"hold at most {limit.get(d)} {DIMENSION_LABELS[d]} at once ({share:.0%} of "
                    f"{snapshot.capacity.get(d)}); free for '{owner.name}' ({owner.country}) "
                    f"{max(foreign.amount.get(d), 0)} < {demand.get(d)} needed at {foreign.at[d].isoformat()}"
                )
    return problems


def quota_problems(
    quota: Resources, owner: Owner, *, held: Sequence[Interval], claims: Sequence[Claim]
) -> list[str]:
    """Reasons the claims push the owner's concurrently held capacity (all ranges) past its quota.

    `held` are the owner's occupying bookings overlapping the claims. Each claim's window is checked
    against everything held plus every claim, so instants outside all claims (where the owner may already
    be over a lowered quota) never cause a refusal.
    """
    new = [Interval(c.start, c.end, c.demand) for c in claims]
    worst: dict[str, tuple[int, datetime, int]] = {}
    for c in claims:
        peak = peak_of([*held, *new], c.start, c.end)
        for d in _used(c.demand):
            level = peak.amount.get(d)
            if level > quota.get(d) and (d not in worst or level > worst[d][0]):
                mine = sum(n.demand.get(d) for n in new if n.start <= peak.at[d] < n.end)
                worst[d] = (level, peak.at[d], mine)
    return [
        f"quota of organisation '{owner.name}' allows {quota.get(d)} {DIMENSION_LABELS[d]} held at once; "
        f"free {max(quota.get(d) - (level - mine), 0)} < {mine} needed at {at.isoformat()}"
        for d, (level, at, mine) in sorted(worst.items(), key=lambda item: DIMENSIONS.index(item[0]))
    ]
