"""The booking engine's persistence port. `orchestrator.db.booking_store` implements it on SQLAlchemy
inside the caller's unit of work; `orchestrator.booking.memory` is the in-memory fake beside it.

Contract shared by every implementation (tests/integration/booking/test_store_contract.py):
- `lock_ranges` serialises admissions per range: it returns once no other transaction can change the
  ranges' calendars until this one ends, and reads the snapshots under that lock. Callers pass every range
  of a decision at once; implementations lock them in id order so two decisions never deadlock. Asked
  for a `CalendarRead`, it also reads the locked ranges' calendars, after the locks are held (PostgreSQL:
  in the same round trip, pipelined), so what it returns includes everything the previous holder of a
  lock committed.
- `occupants` returns every booking of the range that overlaps [start, end) and occupies capacity at
  `now` (HELD with a live hold, PENDING_APPROVAL, CONFIRMED, ACTIVE) and nothing else, reading through an
  index so its cost follows the overlapping bookings, not the calendar (see `orchestrator.booking.lengths`).
- Nothing here commits: the unit of work that owns the store does, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from connectors.base import Resources
from orchestrator.booking.policy import Owner
from orchestrator.domain.bookings import Booking, BookingStatus, Occupant, Quota
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.identity.audit import AuditEvent


class AdmissionObserver(Protocol):
    """Told of every admission decision (create and renew), for metrics. `kinds` names the sources of a
    refusal's reasons: capacity, policy, access, quota. Called inside the caller's transaction, which
    may still roll back: these count decisions, not commits."""

    def admitted(self, *, seconds: float, bookings: int) -> None: ...

    def refused(self, *, seconds: float, kinds: Sequence[str]) -> None: ...


class Unobserved:
    """The observer that records nothing (tests, tools)."""

    def admitted(self, *, seconds: float, bookings: int) -> None:
        return None

    def refused(self, *, seconds: float, kinds: Sequence[str]) -> None:
        return None


@dataclass(frozen=True, kw_only=True)
class BookingQuery:
    """Filters for listing bookings. `visible_to` limits the result to the bookings an organisation owns
    (and, with `include_operated`, those on ranges it operates); None means no limit (admins)."""

    visible_to: str | None = None
    include_operated: bool = False
    range_id: str | None = None
    owner_organisation_id: str | None = None
    statuses: frozenset[BookingStatus] = frozenset()
    request_id: str | None = None
    reference: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CalendarRead:
    """Read the locked ranges' calendars over [start, end) with the locks (`lock_ranges(calendar=...)`).

    The caller reads the clock only once the locks are held, so it cannot give the instant that decides
    which holds are still live; it gives `not_before`, a clock reading taken before asking for the locks.
    The store leaves out the holds that expired by then and returns the others with their expiry
    (`Occupant.hold_expires_at`); the caller drops those that expired by its own later `now`
    (`Occupant.occupies`). Likewise `start` may be earlier than the window the caller decides on: the
    occupants are a superset, filtered by overlap when the calendar is swept.

    `demand`, for a request of one range: a store may then answer a calendar on which that demand fits
    even if all its occupants ran at the same instant (no maintenance in the window, no foreign share
    limit for the owner; for the owner's calendar, within its quota) with one aggregate occupant instead:
    over the whole window with the sum of the occupants' demand (`booking_id` and `owner_country` '', so
    foreign too), an upper bound of the use (and the foreign use) at every instant: a demand that fits it
    fits the occupants one by one.
    """

    start: datetime
    end: datetime
    not_before: datetime
    demand: Resources | None = None


@dataclass(frozen=True, kw_only=True)
class Locked:
    """What `lock_ranges` read under the range locks; `calendars` (by range id) only when asked for, each
    ordered by start."""

    ranges: list[RangeSnapshot]
    owner: Owner | None = None
    quota: Quota | None = None
    calendars: dict[str, list[Occupant]] = field(default_factory=dict)
    #: Whether `quota` needs no lock from the caller: read under its row lock, taken after the range
    #: locks (PostgreSQL's admission call), or read optimistically and locked by the check before the
    #: write; otherwise the caller locks it (`get_quota(for_update=True)`).
    quota_locked: bool = False
    #: The owner's occupying bookings on every range over the calendar's window, read with the locks when
    #: it has a quota (as `calendars`: expired holds up to `not_before` left out); None: not read here.
    owned: list[Occupant] | None = None


class BookingStore(Protocol):
    # -- what the booking engine reads from the catalogue ------------------------------------------
    def range_snapshots(self, refs: Sequence[str]) -> list[RangeSnapshot]:
        """Snapshots of the ranges named by id or slug (unknown refs are left out), without locking."""
        ...

    def all_range_snapshots(self) -> list[RangeSnapshot]:
        """Every range in the catalogue, ordered by slug."""
        ...

    def lock_ranges(
        self,
        refs: Sequence[str],
        *,
        owner_organisation_id: str | None = None,
        calendar: CalendarRead | None = None,
        optimistic: bool = False,
    ) -> Locked:
        """Lock the ranges named by id or slug, in id order, until the transaction ends; return their
        snapshots read under the lock, in id order (unknown refs are left out). With an owner, also read
        that organisation and its quota (not locked) in the same round trip. With a `calendar`, also read
        each locked range's occupying bookings overlapping [calendar.start, calendar.end), leaving out
        the holds expired at `calendar.not_before` (the contract of `occupants`, holds' expiries kept).

        `optimistic` lets a store read without the locks (all of it on one snapshot) where it can check
        before its next `add_bookings` writes, under the same locks, that what it read is still what a
        locked read would return; when it is not, nothing is written and the unit of work raises
        `CalendarChanged` (the caller runs the unit again without `optimistic`). A store that cannot
        check that way locks as usual."""
        ...

    def organisation(self, organisation_id: str) -> Organisation | None: ...

    def add_audit(self, event: AuditEvent) -> None: ...

    # -- bookings --------------------------------------------------------------------------------
    def add_bookings(self, bookings: Sequence[Booking], *, audit: Sequence[AuditEvent] = ()) -> None:
        """Insert the bookings and the audit events recording them (in one round trip where the
        database allows)."""
        ...

    def get_booking(self, booking_id: str, *, for_update: bool = False) -> Booking | None: ...
    def bookings_of_request(
        self, request_id: str, *, owner_organisation_id: str | None = None, for_update: bool = False
    ) -> list[Booking]:
        """The request's bookings ordered by range id (request ids are unique per owner organisation:
        with `owner_organisation_id`, only that organisation's)."""
        ...

    def update_booking(self, booking: Booking) -> None:
        """Store the booking's status, status_reason, end, hold_expires_at and updated_at."""
        ...

    def occupants(self, range_id: str, start: datetime, end: datetime, *, now: datetime) -> list[Occupant]:
        """Occupying bookings of the range overlapping [start, end), through the calendar index, ordered by
        start."""
        ...

    def occupants_owned(
        self, organisation_id: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Occupant]:
        """Occupying bookings of the organisation (all ranges) overlapping [start, end), indexed."""
        ...

    def list_bookings(self, query: BookingQuery, *, limit: int, offset: int) -> tuple[list[Booking], int]:
        """Matching bookings ordered by start then id, and how many match in all."""
        ...

    def expired_holds(self, *, now: datetime, limit: int) -> list[Booking]:
        """HELD bookings whose hold expired at or before `now`, locked for update (rows another
        transaction holds are skipped where the database can)."""
        ...

    # -- quotas ----------------------------------------------------------------------------------
    def get_quota(self, organisation_id: str, *, for_update: bool = False) -> Quota | None: ...
    def put_quota(self, quota: Quota) -> None: ...
    def delete_quota(self, organisation_id: str) -> bool: ...


def read_calendars(
    store: BookingStore, ranges: Sequence[RangeSnapshot], calendar: CalendarRead
) -> dict[str, list[Occupant]]:
    """`lock_ranges`' calendars for a store that reads them one statement after the other, once the
    locks are held."""
    return {
        r.id: store.occupants(r.id, calendar.start, calendar.end, now=calendar.not_before) for r in ranges
    }
