"""The in-memory BookingStore: the fake beside the port, for pure tests and simulations.

It keeps the same calendar index as the SQL store (per range and per owner, by length class and start;
see `orchestrator.booking.lengths`), so tests over it exercise the index maths too. It has no
transactions: it suits one thread, and relies on the service writing only after every check passed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime

from orchestrator.booking.lengths import length_class, probes
from orchestrator.booking.policy import Owner
from orchestrator.booking.ports import BookingQuery, CalendarRead, Locked, read_calendars
from orchestrator.domain.bookings import OCCUPYING, Booking, BookingStatus, Occupant, Quota
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.identity.audit import AuditEvent

_Key = tuple[str, int]


class _CalendarIndex:
    """Occupying bookings by (key, length class), sorted by (start, id)."""

    def __init__(self) -> None:
        self._entries: dict[_Key, list[tuple[datetime, str]]] = {}

    def add(self, key: str, booking: Booking) -> None:
        bisect.insort(self._entries.setdefault(self._slot(key, booking), []), (booking.start, booking.id))

    def remove(self, key: str, booking: Booking) -> None:
        entries = self._entries.get(self._slot(key, booking), [])
        i = bisect.bisect_left(entries, (booking.start, booking.id))
        if i < len(entries) and entries[i] == (booking.start, booking.id):
            del entries[i]

    def candidates(self, key: str, start: datetime, end: datetime) -> Iterable[str]:
        for c, lower, upper in probes(start, end):
            entries = self._entries.get((key, c), [])
            i = bisect.bisect_right(entries, (lower, "\uffff"))
            while i < len(entries) and entries[i][0] < upper:
                yield entries[i][1]
                i += 1

    @staticmethod
    def _slot(key: str, booking: Booking) -> _Key:
        return key, length_class(booking.start, booking.end)


class InMemoryBookingStore:
    def __init__(
        self,
        *,
        ranges: Iterable[RangeSnapshot] = (),
        organisations: Iterable[Organisation] = (),
    ) -> None:
        self.ranges: dict[str, RangeSnapshot] = {r.id: r for r in ranges}
        self.organisations: dict[str, Organisation] = {o.id: o for o in organisations}
        self.audit: list[AuditEvent] = []
        self.bookings: dict[str, Booking] = {}
        self.quotas: dict[str, Quota] = {}
        self.locked: list[list[str]] = []
        self._request_keys: set[tuple[str, str]] = set()
        self._by_range = _CalendarIndex()
        self._by_owner = _CalendarIndex()

    # catalogue side
    def put_range(self, snapshot: RangeSnapshot) -> None:
        self.ranges[snapshot.id] = snapshot

    def _find(self, refs: Sequence[str]) -> list[RangeSnapshot]:
        wanted = set(refs)
        return sorted(
            (r for r in self.ranges.values() if r.id in wanted or r.slug in wanted), key=lambda r: r.id
        )

    def range_snapshots(self, refs: Sequence[str]) -> list[RangeSnapshot]:
        return self._find(refs)

    def all_range_snapshots(self) -> list[RangeSnapshot]:
        return sorted(self.ranges.values(), key=lambda r: r.slug)

    def lock_ranges(
        self,
        refs: Sequence[str],
        *,
        owner_organisation_id: str | None = None,
        calendar: CalendarRead | None = None,
        optimistic: bool = False,  # one process, one lock at a time: every read is a locked one here
    ) -> Locked:
        found = self._find(refs)
        self.locked.append([r.id for r in found])
        calendars = {} if calendar is None else read_calendars(self, found, calendar)
        if owner_organisation_id is None:
            return Locked(ranges=found, calendars=calendars)
        org = self.organisations.get(owner_organisation_id)
        return Locked(
            ranges=found,
            owner=None if org is None else Owner(organisation_id=org.id, name=org.name, country=org.country),
            quota=self.quotas.get(owner_organisation_id),
            calendars=calendars,
        )

    def organisation(self, organisation_id: str) -> Organisation | None:
        return self.organisations.get(organisation_id)

    def add_audit(self, event: AuditEvent) -> None:
        self.audit.append(event)

    # bookings
    def _index(self, booking: Booking) -> None:
        if booking.status in OCCUPYING:
            self._by_range.add(booking.range_id, booking)
            self._by_owner.add(booking.owner_organisation_id, booking)

    def _unindex(self, booking: Booking) -> None:
        self._by_range.remove(booking.range_id, booking)
        self._by_owner.remove(booking.owner_organisation_id, booking)

    def add_bookings(self, bookings: Sequence[Booking], *, audit: Sequence[AuditEvent] = ()) -> None:
        self.audit.extend(audit)
        for b in bookings:
            if b.id in self.bookings:
                raise ValueError(f"booking {b.id} exists")
            if (b.request_id, b.range_id) in self._request_keys:
                raise ValueError(f"request {b.request_id} already has a booking on {b.range_id}")
            self._request_keys.add((b.request_id, b.range_id))
            self.bookings[b.id] = b
            self._index(b)

    def get_booking(self, booking_id: str, *, for_update: bool = False) -> Booking | None:
        return self.bookings.get(booking_id)

    def bookings_of_request(
        self, request_id: str, *, owner_organisation_id: str | None = None, for_update: bool = False
    ) -> list[Booking]:
        return sorted(
            (
                b
                for b in self.bookings.values()
                if b.request_id == request_id and owner_organisation_id in (None, b.owner_organisation_id)
            ),
            key=lambda b: b.range_id,
        )

    def update_booking(self, booking: Booking) -> None:
        old = self.bookings[booking.id]
        self._unindex(old)
        self.bookings[booking.id] = booking
        self._index(booking)

    def _live(self, ids: Iterable[str], start: datetime, end: datetime, now: datetime) -> list[Occupant]:
        found = (self.bookings[i] for i in ids)
        live = sorted(
            (b for b in found if b.start < end and b.end > start and b.occupies(now)),
            key=lambda b: (b.start, b.id),
        )
        return [b.occupant() for b in live]

    def occupants(self, range_id: str, start: datetime, end: datetime, *, now: datetime) -> list[Occupant]:
        return self._live(self._by_range.candidates(range_id, start, end), start, end, now)

    def occupants_owned(
        self, organisation_id: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Occupant]:
        return self._live(self._by_owner.candidates(organisation_id, start, end), start, end, now)

    def list_bookings(self, query: BookingQuery, *, limit: int, offset: int) -> tuple[list[Booking], int]:
        matching = sorted(
            (b for b in self.bookings.values() if self._matches(b, query)), key=lambda b: (b.start, b.id)
        )
        return matching[offset : offset + limit], len(matching)

    def _matches(self, b: Booking, q: BookingQuery) -> bool:
        if q.visible_to is not None:
            operated = q.include_operated and self.ranges[b.range_id].operator_organisation == q.visible_to
            if b.owner_organisation_id != q.visible_to and not operated:
                return False
        checks = [
            q.range_id is None or b.range_id == q.range_id,
            q.owner_organisation_id is None or b.owner_organisation_id == q.owner_organisation_id,
            not q.statuses or b.status in q.statuses,
            q.request_id is None or b.request_id == q.request_id,
            q.reference is None or b.reference == q.reference,
            q.start is None or b.end > q.start,
            q.end is None or b.start < q.end,
        ]
        return all(checks)

    def expired_holds(self, *, now: datetime, limit: int) -> list[Booking]:
        expired = [
            b
            for b in self.bookings.values()
            if b.status is BookingStatus.HELD and b.hold_expires_at is not None and b.hold_expires_at <= now
        ]
        return sorted(expired, key=lambda b: (b.hold_expires_at or now, b.id))[:limit]

    # quotas
    def get_quota(self, organisation_id: str, *, for_update: bool = False) -> Quota | None:
        return self.quotas.get(organisation_id)

    def put_quota(self, quota: Quota) -> None:
        self.quotas[quota.organisation_id] = quota

    def delete_quota(self, organisation_id: str) -> bool:
        return self.quotas.pop(organisation_id, None) is not None
