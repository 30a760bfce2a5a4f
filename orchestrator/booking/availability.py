"""Availability: free capacity of a range over time, and the search for ranges (and their earliest
windows) that can host a demand.

Both read the calendars without locking (they advise; admission decides) and use the same maths as
admission (`free_for_owner`), so a window the search offers is one admission accepts unless someone books
it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.base import DIMENSION_LABELS, Resources
from orchestrator.booking import access, policy
from orchestrator.booking.calendar import free_timeline
from orchestrator.booking.lengths import MAX_BOOKING_LENGTH
from orchestrator.booking.occupancy import (
    Occupancy,
    OwnerFree,
    fits,
    foreign_limit,
    free_for_owner,
    is_foreign,
    lowest,
)
from orchestrator.booking.ports import BookingStore
from orchestrator.booking.requests import demand_problems
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import FieldProblem, InvalidInput, NotFound
from orchestrator.domain.ranges import RangeSnapshot, RangeStatus
from orchestrator.identity.principals import Principal

MAX_SLOTS = 2000
MAX_SEARCH_RESULTS = 100


@dataclass(frozen=True, kw_only=True)
class Slot:
    """[start, end): the least free capacity in the slot, for everyone and for one owner (which is lower
    when the owner is foreign to the range and the foreign share binds)."""

    start: datetime
    end: datetime
    free: Resources
    free_for_owner: Resources


@dataclass(frozen=True, kw_only=True)
class Timeline:
    range: RangeSnapshot
    owner: policy.Owner | None
    slots: Sequence[Slot]


@dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """Find ranges that can host `demand` for `duration`, starting no earlier than `earliest_start` and
    ending no later than `latest_end`. Empty `ranges` means every range the owner may book."""

    demand: Resources
    duration: timedelta
    earliest_start: datetime
    latest_end: datetime
    ranges: Sequence[str] = ()
    capabilities: frozenset[str] = frozenset()
    country: str | None = None
    limit: int = 20

    def problems(self) -> list[FieldProblem]:
        found = demand_problems(self.demand, "demand")
        if self.duration <= timedelta(0):
            found.append(FieldProblem("duration_minutes", "must be positive"))
        elif self.duration > MAX_BOOKING_LENGTH:
            found.append(FieldProblem("duration_minutes", f"at most {policy.describe(MAX_BOOKING_LENGTH)}"))
        elif self.latest_end - self.earliest_start < self.duration:
            found.append(FieldProblem("latest_end", "leaves no room for the duration after earliest_start"))
        if not 1 <= self.limit <= MAX_SEARCH_RESULTS:
            found.append(FieldProblem("limit", f"between 1 and {MAX_SEARCH_RESULTS}"))
        return found


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A range that can host the demand, its earliest window, and what is free there for the owner."""

    range: RangeSnapshot
    start: datetime
    end: datetime
    free: Resources


@dataclass(frozen=True, kw_only=True)
class Miss:
    range: RangeSnapshot
    reasons: Sequence[str]


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    hits: Sequence[Hit]
    misses: Sequence[Miss]


class AvailabilityService:
    def __init__(self, *, store: BookingStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def _owner(self, actor: Principal, organisation_id: str | None) -> policy.Owner | None:
        org_id = organisation_id or actor.organisation_id
        if not org_id:
            return None
        if org_id != actor.organisation_id:
            access.owner_for(actor, org_id)  # only admins look on behalf of another organisation
        org = self.store.organisation(org_id)
        if org is None:
            raise InvalidInput(FieldProblem("organisation_id", f"organisation '{org_id}' does not exist"))
        return policy.Owner(organisation_id=org.id, name=org.name, country=org.country)

    def timeline(
        self,
        actor: Principal,
        range_ref: str,
        *,
        start: datetime,
        end: datetime,
        step: timedelta,
        organisation_id: str | None = None,
    ) -> Timeline:
        """Free capacity per step over [start, end): the minimum in each slot."""
        if end <= start:
            raise InvalidInput(FieldProblem("end", f"must be after start ({start.isoformat()})"))
        if step < timedelta(minutes=1):
            raise InvalidInput(FieldProblem("step", "must be at least one minute"))
        slots = -(-(end - start) // step)
        if slots > MAX_SLOTS:
            raise InvalidInput(
                FieldProblem("step", f"gives {slots} slots over the window; at most {MAX_SLOTS}: widen it")
            )
        found = self.store.range_snapshots([range_ref])
        if not found or not access.can_see_range(actor, found[0]):
            raise NotFound(f"range '{range_ref}' does not exist or is not shared with your organisation")
        snapshot = found[0]
        owner = self._owner(actor, organisation_id)
        now = self.clock.now()
        occupancy = Occupancy.of(snapshot, self.store.occupants(snapshot.id, start, end, now=now))
        free = free_timeline(
            snapshot.capacity, occupancy.intervals, start, end, step, maintenance=snapshot.maintenance
        )
        owners = [f for _, _, f in free]
        if (
            owner is not None
            and is_foreign(snapshot, owner.country)
            and snapshot.policy.max_foreign_share < 1
        ):
            foreign = free_timeline(foreign_limit(snapshot), occupancy.foreign, start, end, step)
            owners = [lowest(f, g) for f, (_, _, g) in zip(owners, foreign, strict=True)]
        return Timeline(
            range=snapshot,
            owner=owner,
            slots=[
                Slot(start=a, end=b, free=f, free_for_owner=o)
                for (a, b, f), o in zip(free, owners, strict=True)
            ],
        )

    def search(
        self, actor: Principal, query: SearchQuery, *, organisation_id: str | None = None
    ) -> SearchResult:
        """Every candidate range with its earliest window that fits, or the reasons it cannot host."""
        problems = query.problems()
        if problems:
            raise InvalidInput(problems)
        owner = self._owner(actor, organisation_id)
        if owner is None:
            raise InvalidInput(FieldProblem("organisation_id", "name the organisation to search for"))
        now = self.clock.now()
        candidates = self._candidates(actor, query)
        hits: list[Hit] = []
        misses: list[Miss] = []
        for snapshot in candidates:
            lead = snapshot.policy.min_lead_time if not policy.is_operator(snapshot, owner) else None
            earliest = max(query.earliest_start, now, now + lead if lead else now)
            reasons = [
                *policy.status_problems(snapshot),
                *policy.allow_list_problems(snapshot, owner),
                *policy.window_problems(snapshot, owner, start=earliest, end=earliest + query.duration),
            ]
            if not reasons and earliest + query.duration > query.latest_end:
                reasons.append(
                    f"{snapshot.slug}: the earliest allowed start {earliest.isoformat()} leaves no room "
                    f"before {query.latest_end.isoformat()}"
                )
            if reasons:
                misses.append(Miss(range=snapshot, reasons=reasons))
                continue
            hit = self._earliest(snapshot, owner, query, earliest=earliest, now=now)
            if isinstance(hit, Hit):
                hits.append(hit)
            else:
                misses.append(Miss(range=snapshot, reasons=[hit]))
        hits.sort(key=lambda h: (h.start, -h.range.preference, h.range.slug))
        return SearchResult(hits=hits[: query.limit], misses=misses)

    def _candidates(self, actor: Principal, query: SearchQuery) -> list[RangeSnapshot]:
        if query.ranges:
            found = self.store.range_snapshots(list(query.ranges))
            known = {ref for s in found for ref in (s.id, s.slug)}
            missing = [r for r in query.ranges if r not in known]
            if missing:
                raise NotFound("range " + ", ".join(f"'{m}'" for m in missing) + " does not exist")
        else:
            found = self.store.all_range_snapshots()
        return [
            s
            for s in found
            if access.can_see_range(actor, s)
            and query.capabilities <= s.capabilities
            and (query.country is None or s.country == query.country)
            and s.status is not RangeStatus.DECOMMISSIONED
        ]

    def _earliest(
        self,
        snapshot: RangeSnapshot,
        owner: policy.Owner,
        query: SearchQuery,
        *,
        earliest: datetime,
        now: datetime,
    ) -> Hit | str:
        """The earliest start t in [earliest, latest_end - duration] where the demand fits.

        Free capacity over [t, t + duration) only grows when something occupying the range ends after t,
        so the earliest fit is `earliest` itself or the end of a booking or maintenance window.
        """
        last = query.latest_end - query.duration
        occupancy = Occupancy.of(
            snapshot, self.store.occupants(snapshot.id, earliest, query.latest_end, now=now)
        )
        ends = {iv.end for iv in occupancy.intervals} | {w.end for w in snapshot.maintenance}
        best: OwnerFree | None = None
        for t in [earliest, *sorted(e for e in ends if earliest < e <= last)]:
            window = occupancy.within(t, t + query.duration)
            free = free_for_owner(
                snapshot,
                window,
                organisation_id=owner.organisation_id,
                country=owner.country,
                start=t,
                end=t + query.duration,
            )
            if fits(query.demand, free.free):
                return Hit(range=snapshot, start=t, end=t + query.duration, free=free.free)
            if best is None:
                best = free
        short = [] if best is None else [s for s in query.demand.shortfalls(best.free) if s[1] > 0]
        detail = "; ".join(
            f"at {best.at[d].isoformat()} only {max(have, 0)} {DIMENSION_LABELS[d]} free of {need} needed"
            for d, need, have in short
            if best is not None
        )
        return (
            f"{snapshot.slug}: no window of {policy.describe(query.duration)} between "
            f"{earliest.isoformat()} and {query.latest_end.isoformat()} has the demand free"
            + (f" (first try: {detail})" if detail else "")
        )
