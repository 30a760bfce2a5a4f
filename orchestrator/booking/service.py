"""Booking use cases: create (all or nothing), confirm, renew, cancel, release, activate, approve, decline,
reduce, expire holds, read.

A transition takes a `Selection`: one booking, or every booking of one request (a booking is a request
of one; the selection says which of a request's bookings a move passes over).

Every method runs inside the caller's unit of work (the store) and never commits: a route opens the unit
of work and commits once, and the exercise planner calls these methods inside the same transaction that
creates its exercise. Every check runs before the first write, so a refusal (an exception) leaves the
caller's transaction untouched. Every mutation writes an audit event.

Concurrency: the methods that can take capacity (create, renew, confirm) first lock the ranges involved,
in id order (`BookingStore.lock_ranges`), and only then read the clock and the calendars (create reads
them with the locks, in one round trip, and filters the holds by the clock read after), so two decisions
on one range are serialised and each sees what the other committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from connectors.base import Resources
from orchestrator.booking import access, policy
from orchestrator.booking.admission import Claim, capacity_problems
from orchestrator.booking.availability import AvailabilityService
from orchestrator.booking.ledger import Ledger, check_move, new_id
from orchestrator.booking.lengths import MAX_BOOKING_LENGTH
from orchestrator.booking.occupancy import Occupancy, OwnerFree, free_for_owner
from orchestrator.booking.ports import AdmissionObserver, BookingQuery, BookingStore, CalendarRead, Unobserved
from orchestrator.booking.quotas import QuotaService
from orchestrator.booking.requests import BookingRequest, RequestResult
from orchestrator.booking.selection import Selection
from orchestrator.booking.views import booking_view
from orchestrator.domain.bookings import OCCUPYING, Booking, BookingStatus
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    Refused,
)
from orchestrator.domain.pages import Page
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.identity.principals import SYSTEM, Principal

log = logging.getLogger(__name__)
S = BookingStatus


class BookingService:
    def __init__(
        self,
        *,
        store: BookingStore,
        clock: Clock,
        hold_ttl: timedelta,
        observer: AdmissionObserver | None = None,
    ) -> None:
        self.store = store
        self.observer: AdmissionObserver = observer or Unobserved()
        self.clock = clock
        self.hold_ttl = hold_ttl
        self.ledger = Ledger(store=store, clock=clock)

    @property
    def availability(self) -> AvailabilityService:
        return AvailabilityService(store=self.store, clock=self.clock)

    @property
    def quotas(self) -> QuotaService:
        return QuotaService(store=self.store, clock=self.clock)

    # -- create ----------------------------------------------------------------------------------
    def create_request(
        self,
        actor: Principal,
        request: BookingRequest,
        *,
        owner_organisation_id: str | None = None,
        optimistic: bool = False,
    ) -> RequestResult:
        """Book every item of the request for its window, or nothing (raises Refused with every reason).

        Items on ranges whose policy requires approval become PENDING_APPROVAL (they hold their capacity
        while the operator decides); the others become HELD until `now + hold_ttl` (or CONFIRMED when
        `request.hold` is False, ACTIVE when `request.active`). A repeated `request_id` returns the first
        request's bookings.

        `optimistic`: decide on a read taken without the range locks, checked under them before the
        write (`BookingStore.lock_ranges`); only for a caller whose unit of work holds nothing else and
        that runs it again without `optimistic` on `CalendarChanged` (`Services.create_booking_request`).
        """
        problems = request.problems()
        if problems:
            raise InvalidInput(problems)
        access.require_purpose(actor, request.purpose, request.reference or "")
        started = time.perf_counter()
        # The calendars come with the locks (one round trip on PostgreSQL). The clock is read again once
        # the locks are held; `before` only bounds what the store returns (see CalendarRead).
        before = self.clock.now()
        owner, quota, locked = self.ledger.lock_for(
            actor,
            [item.range_ref for item in request.items],
            owner_organisation_id=owner_organisation_id,
            calendar=CalendarRead(
                start=max(request.start, before),
                end=request.end,
                not_before=before,
                demand=request.items[0].demand if len(request.items) == 1 else None,
            ),
            optimistic=optimistic,
        )
        by_ref = {ref: s for s in locked.ranges for ref in (s.id, s.slug)}
        now = self.clock.now()
        if request.request_id is not None and not request.new_request:
            earlier = self.store.bookings_of_request(
                request.request_id, owner_organisation_id=owner.organisation_id
            )
            if earlier:
                return self._replay(request, earlier, owner, by_ref)
        if request.end <= now:
            raise InvalidInput(FieldProblem("end", f"is in the past (now is {now.isoformat()})"))
        if request.active and request.start > now:
            raise InvalidInput(FieldProblem("start", f"an active booking starts by now ({now.isoformat()})"))
        start = max(request.start, now)
        reasons: list[str] = []
        kinds: dict[str, None] = {}
        claims: list[Claim] = []

        def add(kind: str, found: Sequence[str]) -> None:
            if found:
                reasons.extend(found)
                kinds[kind] = None

        for item in request.items:
            snapshot = by_ref[item.range_ref]
            add(
                "policy",
                policy.booking_problems(snapshot, owner, start=request.start, end=request.end, now=now),
            )
            direct = access.researcher_problem(actor, snapshot, request.purpose)
            add("access", [direct] if direct else [])
            claim = Claim(snapshot=snapshot, start=start, end=request.end, demand=item.demand)
            live = [o for o in locked.calendars[snapshot.id] if o.occupies(now)]
            add("capacity", capacity_problems(claim, Occupancy.of(snapshot, live), owner))
            claims.append(claim)
        if quota is not None:
            add("quota", self.ledger.quota_reasons(owner, quota, claims, now=now, owned=locked.owned))
        if reasons:
            log.info("booking request refused for %s: %s", owner.name, "; ".join(reasons))
            self.observer.refused(seconds=time.perf_counter() - started, kinds=list(kinds))
            raise Refused(reasons)
        request_id = request.request_id or new_id()
        bookings = [self._new_booking(actor, request, request_id, claim, owner, now=now) for claim in claims]
        self.store.add_bookings(
            bookings, audit=[self.ledger.event(actor, "booking.create", b, at=now) for b in bookings]
        )
        self.observer.admitted(seconds=time.perf_counter() - started, bookings=len(bookings))
        return RequestResult(request_id=request_id, bookings=bookings)

    def _new_booking(
        self,
        actor: Principal,
        request: BookingRequest,
        request_id: str,
        claim: Claim,
        owner: policy.Owner,
        *,
        now: datetime,
    ) -> Booking:
        snapshot = claim.snapshot
        if policy.needs_approval(snapshot, owner):
            status, expires, reason = S.PENDING_APPROVAL, None, f"waits for approval by {snapshot.slug}"
        elif request.hold:
            status, expires, reason = S.HELD, now + self.hold_ttl, ""
        elif request.active:
            status, expires, reason = S.ACTIVE, None, ""
        else:
            status, expires, reason = S.CONFIRMED, None, ""
        return Booking(
            id=new_id(),
            request_id=request_id,
            range_id=snapshot.id,
            range_slug=snapshot.slug,
            owner_organisation_id=owner.organisation_id,
            owner_country=owner.country,
            created_by=actor.id,
            purpose=request.purpose,
            reference=request.reference,
            start=request.start,
            end=request.end,
            demand=claim.demand,
            status=status,
            status_reason=reason,
            hold_expires_at=expires,
            created_at=now,
            updated_at=now,
        )

    def _replay(
        self,
        request: BookingRequest,
        earlier: Sequence[Booking],
        owner: policy.Owner,
        by_ref: Mapping[str, RangeSnapshot],
    ) -> RequestResult:
        """The same idempotency key again: the same request returns what it got; a different one is a
        conflict rather than a silent second booking."""
        asked = {(by_ref[i.range_ref].id, i.demand) for i in request.items}
        got = {(b.range_id, b.demand) for b in earlier}
        first = earlier[0]
        same = (
            asked == got
            and first.owner_organisation_id == owner.organisation_id
            and (first.start, first.end) == (request.start, request.end)
        )
        if not same:
            raise Conflict(
                f"request_id '{first.request_id}' was already used for another request "
                f"({len(earlier)} booking(s) from {first.start.isoformat()} to {first.end.isoformat()}); "
                "use a new request_id"
            )
        order = {by_ref[i.range_ref].id: n for n, i in enumerate(request.items)}
        ordered = sorted(earlier, key=lambda b: order[b.range_id])
        return RequestResult(request_id=first.request_id, bookings=ordered, replayed=True)

    # -- reads -----------------------------------------------------------------------------------
    def get(self, actor: Principal, selection: Selection) -> list[Booking]:
        """The selected bookings the actor may see (its organisation's, its ranges' if an operator, any
        if admin); a request's ordered by range id."""
        return self.ledger.visible(actor, selection)

    def list_bookings(self, actor: Principal, query: BookingQuery, *, page: int, page_size: int) -> Page:
        """Bookings the actor may see, filtered; `query.range_id` may name the range by slug too."""
        if query.range_id is not None:
            found = self.store.range_snapshots([query.range_id])
            if not found:
                raise NotFound(f"range '{query.range_id}' does not exist")
            query = replace(query, range_id=found[0].id)
        items, total = self.store.list_bookings(
            access.scope(actor, query), limit=page_size, offset=(page - 1) * page_size
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    def occupancy(self, range_ids: Sequence[str], *, start: datetime, end: datetime) -> dict[str, Occupancy]:
        """For placement: per range id, the intervals that occupy capacity over [start, end) (HELD with a
        live hold, PENDING_APPROVAL, CONFIRMED, ACTIVE) and their foreign subset. Unknown ids are left
        out. Combine with `orchestrator.booking.occupancy.free_for_owner` and the ranges' snapshots."""
        now = self.clock.now()
        return {
            s.id: self.ledger.occupancy_of(s, start, end, now)
            for s in self.store.range_snapshots(list(range_ids))
        }

    def free_for(
        self, range_ids: Sequence[str], *, start: datetime, end: datetime, organisation_id: str, country: str
    ) -> dict[str, OwnerFree]:
        """For placement: per range id, what an owner (organisation and country) may still book over
        [start, end), with the instant each dimension bottoms out. Unknown ids are left out."""
        now = self.clock.now()
        return {
            s.id: free_for_owner(
                s,
                self.ledger.occupancy_of(s, start, end, now),
                organisation_id=organisation_id,
                country=country,
                start=start,
                end=end,
            )
            for s in self.store.range_snapshots(list(range_ids))
        }

    # -- confirm and renew (may take capacity: under the range locks) ------------------------------
    def confirm(self, actor: Principal, selection: Selection) -> list[Booking]:
        """HELD -> CONFIRMED while the hold lives, all or nothing; CONFIRMED and ACTIVE bookings stay as
        they are. An expired hold or an ended booking makes the whole confirmation fail. A booking that
        waits for approval is the range's operators' to confirm (`approve`): selected alone it is a
        conflict, among other bookings of its request it stays pending."""
        bookings = self.ledger.owned(actor, selection, doing="confirming")
        self.ledger.lock([b.range_id for b in bookings])
        now = self.clock.now()
        current = self.ledger.reread(bookings)
        alone = len(current) == 1
        for b in current:
            if b.status is S.HELD and not b.occupies(now):
                raise Conflict(
                    f"booking {b.id} on {b.range_slug}: its hold expired at "
                    f"{b.hold_expires_at.isoformat() if b.hold_expires_at else '?'}; its capacity may be "
                    "taken since: book again"
                )
            if b.status is S.PENDING_APPROVAL and alone:
                raise Conflict(
                    f"booking {b.id} on {b.range_slug} waits for approval by the range's operators"
                )
            if b.status not in OCCUPYING:
                check_move(b, S.CONFIRMED)
        return [
            self.ledger.move(actor, b, S.CONFIRMED, action="booking.confirm", now=now)
            if b.status is S.HELD
            else b
            for b in current
        ]

    def renew(self, actor: Principal, selection: Selection, *, end: datetime) -> list[Booking]:
        """Move the end of every selected booking to `end`, all or nothing: later only if capacity,
        foreign share, quota and the range's maximum booking length allow it over the added time; earlier
        always, but not into the past. A request's bookings that ended are left out (and returned no more)."""
        ended = selection.leaves(_ENDED)
        bookings = [b for b in self.ledger.owned(actor, selection, doing="renewing") if b.status not in ended]
        if not bookings:
            raise Conflict("nothing to renew: the request has no held, pending, confirmed or active booking")
        started = time.perf_counter()
        locked = self.store.lock_ranges(
            [b.range_id for b in bookings], owner_organisation_id=bookings[0].owner_organisation_id
        )
        snapshots = {s.id: s for s in locked.ranges}
        quota = self.ledger.lock_quota(locked)
        now = self.clock.now()
        current = self.ledger.reread(bookings)
        problems = []
        for b in current:
            if not b.occupies(now):
                state = "an expired hold" if b.status is S.HELD else b.status.value
                raise Conflict(f"booking {b.id} on {b.range_slug} is {state}; it cannot be renewed")
            if end <= max(b.start, now):
                problems.append(
                    f"must be after the booking's start ({b.start.isoformat()}) and now ({now.isoformat()})"
                )
            elif end - b.start > MAX_BOOKING_LENGTH:
                problems.append(f"a booking lasts at most {policy.describe(MAX_BOOKING_LENGTH)}")
        if problems:
            raise InvalidInput([FieldProblem("end", p) for p in dict.fromkeys(problems)])
        name = locked.owner.name if locked.owner else current[0].owner_organisation_id
        owner = policy.Owner(
            organisation_id=current[0].owner_organisation_id, name=name, country=current[0].owner_country
        )
        reasons: list[str] = []
        kinds: dict[str, None] = {}
        claims: list[Claim] = []
        for b in current:
            if end <= b.end:
                continue
            snapshot = snapshots[b.range_id]
            found = policy.window_problems(snapshot, owner, start=b.start, end=end)
            kinds.update(dict.fromkeys(["policy"] if found else []))
            reasons += found
            claim = Claim(snapshot=snapshot, start=max(b.end, now), end=end, demand=b.demand)
            found = capacity_problems(claim, self.ledger.occupancy_of(snapshot, claim.start, end, now), owner)
            kinds.update(dict.fromkeys(["capacity"] if found else []))
            reasons += found
            claims.append(claim)
        if quota is not None:
            found = self.ledger.quota_reasons(owner, quota, claims, now=now)
            kinds.update(dict.fromkeys(["quota"] if found else []))
            reasons += found
        if reasons:
            self.observer.refused(seconds=time.perf_counter() - started, kinds=list(kinds))
            raise Refused(reasons)
        renewed = []
        for b in current:
            updated = replace(b, end=end, updated_at=now)
            self.store.update_booking(updated)
            self.ledger.audit(actor, "booking.renew", updated, at=now, before=booking_view(b))
            renewed.append(updated)
        if claims:
            self.observer.admitted(seconds=time.perf_counter() - started, bookings=len(claims))
        return renewed

    def reduce(self, actor: Principal, booking_id: str, *, demand: Resources, reason: str = "") -> Booking:
        """Lower the demand of a live booking (e.g. some of an exercise's teams moved to another range).

        Shrinking only frees capacity, so it needs no admission; growing is refused (book more instead).
        """
        [booking] = self.ledger.owned(actor, Selection.booking(booking_id), doing="reducing")
        now = self.clock.now()
        if not booking.occupies(now):
            raise Conflict(
                f"booking {booking.id} on {booking.range_slug} is {booking.status.value}; nothing to reduce"
            )
        grown = [d for d, v in demand.items() if v > booking.demand.get(d)]
        if grown:
            raise InvalidInput(
                [
                    FieldProblem(f"demand.{d}", f"can only shrink (booked {booking.demand.get(d)})")
                    for d in grown
                ]
            )
        if demand.is_negative_anywhere():
            raise InvalidInput(FieldProblem("demand", "must not be negative"))
        updated = replace(
            booking, demand=demand, status_reason=reason or booking.status_reason, updated_at=now
        )
        self.store.update_booking(updated)
        self.ledger.audit(actor, "booking.reduce", updated, at=now, before=booking_view(booking))
        return updated

    # -- transitions that free or keep capacity (no range lock needed) -----------------------------
    def cancel(self, actor: Principal, selection: Selection, *, reason: str = "") -> list[Booking]:
        """HELD, PENDING_APPROVAL or CONFIRMED -> CANCELLED; cancelling a CANCELLED booking is a no-op and
        an ACTIVE one must be released instead (409). A request's expired and rejected bookings stay as
        they are."""
        bookings = self.ledger.owned(actor, selection, doing="cancelling")
        skip = selection.leaves(frozenset({S.EXPIRED, S.REJECTED}))
        return self._apply(actor, bookings, S.CANCELLED, reason=reason or "cancelled", skip=skip)

    def release(self, actor: Principal, selection: Selection) -> list[Booking]:
        """CONFIRMED or ACTIVE -> RELEASED: the capacity is given back; releasing twice is a no-op. A
        request's expired, rejected and cancelled bookings stay as they are."""
        bookings = self.ledger.owned(actor, selection, doing="releasing")
        skip = selection.leaves(frozenset({S.EXPIRED, S.REJECTED, S.CANCELLED}))
        return self._apply(actor, bookings, S.RELEASED, reason="released", skip=skip)

    def activate(self, actor: Principal, selection: Selection) -> list[Booking]:
        """CONFIRMED -> ACTIVE (its instances are being deployed); activating twice is a no-op."""
        bookings = self.ledger.owned(actor, selection, doing="activating")
        return self._apply(actor, bookings, S.ACTIVE, reason="")

    def approve(self, actor: Principal, booking_id: str) -> Booking:
        """PENDING_APPROVAL -> CONFIRMED, by the range's operators or an admin."""
        booking = self.ledger.decidable(actor, booking_id, action="approving a booking", target=S.CONFIRMED)
        return self._apply(actor, [booking], S.CONFIRMED, reason=f"approved by {actor.name}")[0]

    def decline(self, actor: Principal, booking_id: str, *, reason: str) -> Booking:
        """PENDING_APPROVAL -> REJECTED with the operator's reason, by the range's operators or an admin."""
        booking = self.ledger.decidable(actor, booking_id, action="declining a booking", target=S.REJECTED)
        why = f"declined by {actor.name}" + (f": {reason}" if reason else "")
        return self._apply(actor, [booking], S.REJECTED, reason=why)[0]

    def expire_holds(self, *, limit: int = 500) -> int:
        """Mark HELD bookings whose hold has run out EXPIRED (admission already ignores them)."""
        now = self.clock.now()
        expired = self.store.expired_holds(now=now, limit=limit)
        for b in expired:
            when = b.hold_expires_at.isoformat() if b.hold_expires_at else "?"
            self.ledger.move(
                SYSTEM, b, S.EXPIRED, action="booking.expire", now=now, reason=f"hold expired at {when}"
            )
        if expired:
            log.info("expired %d hold(s)", len(expired))
        return len(expired)

    def _apply(
        self,
        actor: Principal,
        bookings: Sequence[Booking],
        target: BookingStatus,
        *,
        reason: str,
        skip: frozenset[BookingStatus] = frozenset(),
    ) -> list[Booking]:
        """Move every booking to `target` or none: checks all moves first, then writes. Bookings already
        in `target` or in `skip` are returned unchanged."""
        now = self.clock.now()
        current = self.ledger.reread(bookings)
        for b in current:
            if b.status is not target and b.status not in skip:
                check_move(b, target)
        action = f"booking.{_ACTIONS[target]}"
        return [
            b
            if b.status is target or b.status in skip
            else self.ledger.move(actor, b, target, action=action, now=now, reason=reason)
            for b in current
        ]


#: What a request's renewal leaves out: the bookings that no longer take capacity.
_ENDED = frozenset(BookingStatus) - OCCUPYING
_ACTIONS: dict[BookingStatus, str] = {
    S.CANCELLED: "cancel",
    S.RELEASED: "release",
    S.ACTIVE: "activate",
    S.CONFIRMED: "approve",
    S.REJECTED: "decline",
}
