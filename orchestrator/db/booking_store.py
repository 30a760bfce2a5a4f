"""The BookingStore port on SQLAlchemy, inside the caller's unit of work (it never commits).

Locking: `lock_ranges` reads the range rows `ORDER BY id FOR UPDATE` on PostgreSQL, which locks them in
id order, so two admissions over overlapping sets of ranges queue instead of deadlocking. The default READ
COMMITTED isolation gives every later statement of the transaction a fresh snapshot, so once the lock is
held the calendar read includes everything the previous holder committed. SQLite has no row locks: every
transaction there starts with BEGIN IMMEDIATE (orchestrator.db.engine), which serialises writers.

Reads use Core statements (rows, not ORM objects), so nothing stale can come from the session's identity
map after waiting for a lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from connectors.base import Resources
from orchestrator.booking.lengths import length_class
from orchestrator.booking.ports import BookingQuery, CalendarRead, Locked
from orchestrator.db.booking_sql import (
    ALL_RANGES,
    BOOKINGS,
    HELD,
    INSERT_AUDIT,
    LOCK_QUOTA,
    QUOTA,
    QUOTAS,
    RANGES,
    B,
    R,
    audit_values,
    booking_of,
    booking_values,
    select_bookings,
    snapshot_of,
    utc,
)
from orchestrator.db.calendar_sql import calendar_for
from orchestrator.db.catalogue_store import SqlCatalogueStore
from orchestrator.db.tables import (
    QuotaRow,
)
from orchestrator.domain.bookings import Booking, Occupant, Quota
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.ranges import (
    MaintenanceWindow,
    OrganisationKind,
    RangeSnapshot,
)
from orchestrator.identity.audit import AuditEvent


class SqlBookingStore:
    def __init__(self, connection: Connection, catalogue: Callable[[], SqlCatalogueStore]) -> None:
        """`connection`: the unit of work's, in its transaction; `catalogue`: the unit of work's
        catalogue store, asked for only when a lookup needs it (it brings the ORM session)."""
        self._db = connection
        self._catalogue = catalogue
        self._postgres = connection.dialect.name == "postgresql"
        self._calendar = calendar_for(connection)

    # -- catalogue side ----------------------------------------------------------------------------
    def _snapshots(self, stmt: Select[Any], params: dict[str, Any]) -> list[RangeSnapshot]:
        return self._fold(self._db.execute(stmt, params))

    @staticmethod
    def _fold(found: Iterable[Row[Any]]) -> list[RangeSnapshot]:
        """Fold ranges-with-their-maintenance rows (one per window) into snapshots, keeping their order."""
        rows: dict[str, Row[Any]] = {}
        windows: dict[str, list[MaintenanceWindow]] = {}
        for r in found:
            rows.setdefault(r.id, r)
            if r.m_start is not None:
                windows.setdefault(r.id, []).append(
                    MaintenanceWindow(start=utc(r.m_start), end=utc(r.m_end), reason=r.m_reason)
                )
        return [snapshot_of(r, tuple(windows.get(r.id, ()))) for r in rows.values()]

    def range_snapshots(self, refs: Sequence[str]) -> list[RangeSnapshot]:
        if not refs:
            return []
        return self._snapshots(RANGES, {"refs": list(dict.fromkeys(refs))})

    def all_range_snapshots(self) -> list[RangeSnapshot]:
        return self._snapshots(ALL_RANGES, {})

    def lock_ranges(
        self,
        refs: Sequence[str],
        *,
        owner_organisation_id: str | None = None,
        calendar: CalendarRead | None = None,
    ) -> Locked:
        """The range rows locked in id order (FOR UPDATE, which on PostgreSQL locks rows in the order the
        sort returns them), read with their maintenance windows and, when asked, the owner organisation
        and its quota (joined, not locked), and the calendars.

        PostgreSQL: one statement, `federange_admission_read`, which locks and then reads with a snapshot
        taken after the locks were granted. SQLite: the locking SELECT (the transaction's BEGIN IMMEDIATE
        already holds the database), then one calendar query per range (`orchestrator.db.calendar_sql`)."""
        if not refs:
            return Locked(ranges=[])
        rows, calendars = self._calendar.lock_and_read(
            list(dict.fromkeys(refs)), owner_organisation_id or "", calendar
        )
        ranges = self._fold(rows)
        if not rows or rows[0].owner_id is None:
            return Locked(ranges=ranges, calendars=calendars)
        first = rows[0]
        owner_org = Organisation(
            id=first.owner_id,
            name=first.owner_name,
            country=first.owner_country,
            kind=OrganisationKind(first.owner_kind),
            created_at=utc(first.owner_created_at),
        )
        quota = None
        if first.q_cpu_millicores is not None:
            limit = Resources(first.q_cpu_millicores, first.q_memory_mib, first.q_slots, first.q_gpus)
            quota = Quota(organisation_id=owner_org.id, limit=limit)
        return Locked(ranges=ranges, owner=owner_org, quota=quota, calendars=calendars)

    def organisation(self, organisation_id: str) -> Organisation | None:
        return self._catalogue().get_organisation(organisation_id)

    def add_audit(self, event: AuditEvent) -> None:
        """The catalogue's audit table, written with one Core INSERT (no ORM unit-of-work flush on the
        admission path); the rows are the same as the catalogue store's."""
        self._db.execute(INSERT_AUDIT, audit_values(event))

    # -- bookings ----------------------------------------------------------------------------------
    def add_bookings(self, bookings: Sequence[Booking], *, audit: Sequence[AuditEvent] = ()) -> None:
        """PostgreSQL: one statement, the audit rows inserted by a data-modifying CTE around the
        bookings' INSERT. SQLite (no such CTEs): two statements."""
        if not bookings:
            for event in audit:
                self.add_audit(event)
            return
        self._calendar.insert([booking_values(b) for b in bookings], [audit_values(e) for e in audit])

    def get_booking(self, booking_id: str, *, for_update: bool = False) -> Booking | None:
        stmt = select_bookings().where(B.id == booking_id)
        if for_update:
            stmt = stmt.with_for_update(of=BOOKINGS)
        row = self._db.execute(stmt).first()
        return None if row is None else booking_of(row)

    def bookings_of_request(self, request_id: str, *, for_update: bool = False) -> list[Booking]:
        stmt = select_bookings().where(B.request_id == request_id).order_by(B.range_id)
        if for_update:
            stmt = stmt.with_for_update(of=BOOKINGS)
        return [booking_of(r) for r in self._db.execute(stmt)]

    def update_booking(self, booking: Booking) -> None:
        self._db.execute(
            update(BOOKINGS)
            .where(B.id == booking.id)
            .values(
                status=booking.status.value,
                status_reason=booking.status_reason,
                end=booking.end,
                length_class=length_class(booking.start, booking.end),
                hold_expires_at=booking.hold_expires_at,
                cpu_millicores=booking.demand.cpu_millicores,
                memory_mib=booking.demand.memory_mib,
                slots=booking.demand.slots,
                gpus=booking.demand.gpus,
                updated_at=booking.updated_at,
            )
        )

    def occupants(self, range_id: str, start: datetime, end: datetime, *, now: datetime) -> list[Occupant]:
        return self._calendar.occupants("range_id", range_id, start, end, now)

    def occupants_owned(
        self, organisation_id: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Occupant]:
        return self._calendar.occupants("owner_organisation_id", organisation_id, start, end, now)

    def list_bookings(self, query: BookingQuery, *, limit: int, offset: int) -> tuple[list[Booking], int]:
        conditions: list[ColumnElement[bool]] = []
        if query.visible_to is not None:
            mine = B.owner_organisation_id == query.visible_to
            conditions.append(
                or_(mine, R.operator_organisation_id == query.visible_to) if query.include_operated else mine
            )
        if query.range_id is not None:
            conditions.append(B.range_id == query.range_id)
        if query.owner_organisation_id is not None:
            conditions.append(B.owner_organisation_id == query.owner_organisation_id)
        if query.statuses:
            conditions.append(B.status.in_(sorted(s.value for s in query.statuses)))
        if query.request_id is not None:
            conditions.append(B.request_id == query.request_id)
        if query.reference is not None:
            conditions.append(B.reference == query.reference)
        if query.start is not None:
            conditions.append(B.end > query.start)
        if query.end is not None:
            conditions.append(B.start < query.end)
        stmt = select_bookings().where(*conditions)
        total = int(self._db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = self._db.execute(stmt.order_by(B.start, B.id).limit(limit).offset(offset))
        return [booking_of(r) for r in rows], total

    def expired_holds(self, *, now: datetime, limit: int) -> list[Booking]:
        stmt = (
            select_bookings()
            .where(HELD, B.hold_expires_at <= now)
            .order_by(B.hold_expires_at, B.id)
            .limit(limit)
        )
        if self._postgres:
            stmt = stmt.with_for_update(of=BOOKINGS, skip_locked=True)
        return [booking_of(r) for r in self._db.execute(stmt)]

    # -- quotas ------------------------------------------------------------------------------------
    def get_quota(self, organisation_id: str, *, for_update: bool = False) -> Quota | None:
        row = self._db.execute(LOCK_QUOTA if for_update else QUOTA, {"org": organisation_id}).first()
        if row is None:
            return None
        return Quota(
            organisation_id=row.organisation_id,
            limit=Resources(row.cpu_millicores, row.memory_mib, row.slots, row.gpus),
        )

    def put_quota(self, quota: Quota) -> None:
        values = quota.limit.as_dict()
        done = self._db.execute(
            update(QUOTAS).where(QuotaRow.organisation_id == quota.organisation_id).values(**values)
        )
        if not done.rowcount:
            self._db.execute(insert(QUOTAS).values(organisation_id=quota.organisation_id, **values))

    def delete_quota(self, organisation_id: str) -> bool:
        done = self._db.execute(delete(QUOTAS).where(QuotaRow.organisation_id == organisation_id))
        return bool(done.rowcount)
