"""The booking records of one unit of work: locked reads, status moves with their audit events, and the
lookups that check who may see or change a booking. Shared by the booking use cases (service.py).

Locks are always taken in the same order: the ranges (in id order, one statement), then the owner's quota
row, then booking rows; the clock is read only after every lock a decision needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from orchestrator.booking import access, policy
from orchestrator.booking.admission import Claim, quota_problems
from orchestrator.booking.occupancy import Occupancy
from orchestrator.booking.ports import BookingStore, CalendarRead, Locked
from orchestrator.booking.selection import Selection
from orchestrator.booking.views import booking_view
from orchestrator.domain.bookings import BOOKING_STATES, Booking, BookingStatus, Occupant, Quota
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, IllegalTransition, InvalidInput, NotFound
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.domain.sweep import Interval
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal

S = BookingStatus


def new_id() -> str:
    return str(uuid.uuid4())


class Ledger:
    def __init__(self, *, store: BookingStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def audit(
        self,
        actor: Principal,
        action: str,
        booking: Booking,
        *,
        at: datetime,
        before: Mapping[str, Any] | None = None,
    ) -> None:
        self.store.add_audit(self.event(actor, action, booking, at=at, before=before))

    @staticmethod
    def event(
        actor: Principal,
        action: str,
        booking: Booking,
        *,
        at: datetime,
        before: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            id=new_id(),
            at=at,
            actor_principal_id=actor.id or None,
            actor_name=actor.name,
            actor_organisation_id=actor.organisation_id or None,
            action=action,
            object_kind="booking",
            object_id=booking.id,
            range_id=booking.range_id,
            organisation_id=booking.owner_organisation_id,
            before=before,
            after=booking_view(booking),
        )

    def lock_for(
        self,
        actor: Principal,
        refs: Sequence[str],
        *,
        owner_organisation_id: str | None,
        calendar: CalendarRead | None = None,
        optimistic: bool = False,
    ) -> tuple[policy.Owner, Quota | None, Locked]:
        """Lock the ranges (reading their calendars with the locks when asked), read the owner (the
        actor's organisation or the one named, admins only), and when it has a quota lock that too:
        every lock is taken before the caller reads the clock (`optimistic`: see `lock_ranges`)."""
        org_id = access.owner_for(actor, owner_organisation_id)
        locked = self.store.lock_ranges(
            refs, owner_organisation_id=org_id, calendar=calendar, optimistic=optimistic
        )
        check_found(refs, locked.ranges)
        if locked.owner is None:
            raise InvalidInput(
                FieldProblem("owner_organisation_id", f"organisation '{org_id}' does not exist")
            )
        return locked.owner, self.lock_quota(locked), locked

    def lock_quota(self, locked: Locked) -> Quota | None:
        """The owner's quota under its row lock, taken after the range locks (always in that order), so
        two admissions of one organisation on different ranges cannot both use the last of it."""
        if locked.owner is None or locked.quota is None:
            return None
        if locked.quota_locked:
            return locked.quota
        return self.store.get_quota(locked.owner.organisation_id, for_update=True)

    def lock(self, refs: Sequence[str]) -> list[RangeSnapshot]:
        snapshots = self.store.lock_ranges(refs).ranges
        check_found(refs, snapshots)
        return snapshots

    def occupancy_of(
        self, snapshot: RangeSnapshot, start: datetime, end: datetime, now: datetime
    ) -> Occupancy:
        return Occupancy.of(snapshot, self.store.occupants(snapshot.id, start, end, now=now))

    def quota_reasons(
        self,
        owner: policy.Owner,
        quota: Quota,
        claims: Sequence[Claim],
        *,
        now: datetime,
        owned: Sequence[Occupant] | None = None,
    ) -> list[str]:
        """`owned`: the owner's calendar already read with the locks over a window holding every claim
        (`Locked.owned`); otherwise it is read here."""
        if not claims:
            return []
        if owned is None:
            start = min(c.start for c in claims)
            end = max(c.end for c in claims)
            owned = self.store.occupants_owned(owner.organisation_id, start, end, now=now)
        held = [Interval(o.start, o.end, o.demand) for o in owned if o.occupies(now)]
        return quota_problems(quota.limit, owner, held=held, claims=claims)

    def visible(self, actor: Principal, selection: Selection) -> list[Booking]:
        """The selected bookings the actor may see (a request's ordered by range id); NotFound if none."""
        if selection.whole_request:
            found = self.store.bookings_of_request(selection.id)
        else:
            booking = self.store.get_booking(selection.id)
            found = [] if booking is None else [booking]
        bookings = [b for b in found if access.can_see(actor, b, self.snapshot(b.range_id))]
        if not bookings:
            raise NotFound(f"{selection} does not exist or is not visible to you")
        owners = {b.owner_organisation_id for b in bookings}
        if len(owners) > 1:  # request ids are unique per organisation: an admin may see several
            raise Conflict(
                f"{selection} names requests of {len(owners)} organisations; name each booking instead"
            )
        return bookings

    def snapshot(self, range_id: str) -> RangeSnapshot | None:
        found = self.store.range_snapshots([range_id])
        return found[0] if found else None

    def move(
        self,
        actor: Principal,
        booking: Booking,
        target: BookingStatus,
        *,
        action: str,
        now: datetime,
        reason: str | None = None,
    ) -> Booking:
        check_move(booking, target)
        updated = replace(
            booking,
            status=target,
            status_reason=booking.status_reason if reason is None else reason,
            hold_expires_at=booking.hold_expires_at if target is S.EXPIRED else None,
            updated_at=now,
        )
        self.store.update_booking(updated)
        self.audit(actor, action, updated, at=now, before=booking_view(booking))
        return updated

    def owned(self, actor: Principal, selection: Selection, *, doing: str) -> list[Booking]:
        """The selected bookings, which the actor may change (`doing`: "confirming", for the refusal)."""
        bookings = self.visible(actor, selection)
        for b in bookings:
            access.require_change(actor, b, doing=f"{doing} {selection.noun}")
        return bookings

    def decidable(self, actor: Principal, booking_id: str, *, action: str, target: BookingStatus) -> Booking:
        """A booking the actor may approve or decline, waiting for that (or already decided that way)."""
        [booking] = self.visible(actor, Selection.booking(booking_id))
        snapshot = self.snapshot(booking.range_id)
        if snapshot is None:
            raise NotFound(f"range '{booking.range_id}' of booking {booking.id} does not exist")
        access.require_range_decider(actor, snapshot, action=action)
        if booking.status is not S.PENDING_APPROVAL and booking.status is not target:
            raise Conflict(
                f"{action}: booking {booking.id} on {booking.range_slug} is {booking.status.value}; "
                "only bookings pending approval are approved or declined"
            )
        return booking

    def reread(self, bookings: Sequence[Booking]) -> list[Booking]:
        """The bookings as they are now, locked for update (another transaction may have moved them)."""
        current = []
        for b in bookings:
            fresh = self.store.get_booking(b.id, for_update=True)
            if fresh is None:
                raise NotFound(f"booking '{b.id}' does not exist")
            current.append(fresh)
        return current


def check_found(refs: Sequence[str], snapshots: Sequence[RangeSnapshot]) -> None:
    known = {ref for s in snapshots for ref in (s.id, s.slug)}
    missing = [ref for ref in refs if ref not in known]
    if missing:
        raise NotFound("range " + ", ".join(f"'{m}'" for m in missing) + " does not exist")


def check_move(booking: Booking, target: BookingStatus) -> None:
    """Raise IllegalTransition (409) naming the booking when the state machine forbids the move."""
    if not BOOKING_STATES.can(booking.status, target):
        raise IllegalTransition(
            kind=f"booking {booking.id} on {booking.range_slug}", current=booking.status, target=target
        )
