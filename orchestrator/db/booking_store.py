"""The BookingStore port on SQLAlchemy, inside the caller's unit of work (it never commits).

Locking: on PostgreSQL `lock_ranges` takes the locks of `federange_admission_locks`, in one order
(`orchestrator.db.calendar_sql`): with a calendar to read, the range rows FOR SHARE and one lock per
(range, UTC day) of the window, so admissions whose windows overlap queue and the others do not;
without one, the range rows FOR UPDATE. The default READ COMMITTED isolation gives every later statement
of the transaction a fresh snapshot, so once the locks are held the calendar read includes everything
the previous holder committed. SQLite has no row locks: every
transaction there starts with BEGIN IMMEDIATE (orchestrator.db.engine), which serialises writers.

Reads use Core statements (rows, not ORM objects), so nothing stale can come from the session's identity
map after waiting for a lock. What differs per database (the calendar reads, the admission read, the
insert of new bookings) runs through `SqliteCalendar` or `PostgresCalendar` below, over the statements of
`orchestrator.db.calendar_sql`.
"""

from __future__ import annotations

from collections import namedtuple
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

from connectors.base import DIMENSIONS, Resources
from orchestrator.booking.lengths import length_class, probes
from orchestrator.booking.policy import Owner
from orchestrator.booking.ports import BookingQuery, CalendarRead, Locked
from orchestrator.db.booking_sql import (
    ALL_RANGES,
    AUDIT,
    BOOKINGS,
    HELD,
    INSERT_AUDIT,
    INSERT_BOOKINGS,
    LOCK_QUOTA,
    QUOTA,
    QUOTAS,
    RANGES,
    B,
    DriverCursor,
    R,
    audit_values,
    booking_of,
    booking_values,
    select_bookings,
    snapshot_of,
    utc,
)
from orchestrator.db.calendar_sql import (
    ADMISSION_CHECK_ONE,
    ADMISSION_COLUMNS,
    ADMISSION_READ,
    ADMISSION_READ_ONE,
    ADMISSION_TRY_ONE,
    CALENDAR,
    INSERT_BOOKING_AND_AUDIT,
    LOCK_RANGES,
    PG_CALENDAR,
)
from orchestrator.db.catalogue_store import SqlCatalogueStore
from orchestrator.db.engine import write_later
from orchestrator.db.tables import (
    QuotaRow,
)
from orchestrator.domain.bookings import Booking, Occupant, Quota
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.ranges import (
    MaintenanceWindow,
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
        optimistic: bool = False,
    ) -> Locked:
        """The range rows locked in id order (with the window's day locks when a calendar is read, see
        the module's docstring), read with their maintenance windows and, when asked, the owner organisation
        and its quota (joined, not locked), and the calendars.

        PostgreSQL: one statement, `federange_admission_read`, which locks and then reads with a snapshot
        taken after the locks were granted. SQLite: the locking SELECT (the transaction's BEGIN IMMEDIATE
        already holds the database), then one calendar query per range (`orchestrator.db.calendar_sql`).

        `optimistic`, on PostgreSQL for one range with its calendar: `federange_admission_try` locks
        and reads as above when the range's lock is free; when another transaction holds it, it reads
        the same rows without the locks, and the next insert sends `federange_admission_check` first
        (with the insert and the COMMIT when it is deferred), which takes the locks and raises unless
        the rows are still the same (`CalendarChanged` from the unit of work). Elsewhere the locks are
        taken."""
        if not refs:
            return Locked(ranges=[])
        unique = list(dict.fromkeys(refs))
        if (
            optimistic
            and calendar is not None
            and len(unique) == 1
            and isinstance(self._calendar, PostgresCalendar)
        ):
            rows, calendars, owned = self._calendar.try_lock_and_read(
                unique[0], owner_organisation_id or "", calendar
            )
        else:
            rows, calendars, owned = self._calendar.lock_and_read(
                unique, owner_organisation_id or "", calendar
            )
        ranges = self._fold(rows)
        if not rows or rows[0].owner_id is None:
            return Locked(ranges=ranges, calendars=calendars)
        first = rows[0]
        owner_org = Owner(organisation_id=first.owner_id, name=first.owner_name, country=first.owner_country)
        quota = None
        if first.q_cpu_millicores is not None:
            limit = Resources(first.q_cpu_millicores, first.q_memory_mib, first.q_slots, first.q_gpus)
            quota = Quota(organisation_id=owner_org.organisation_id, limit=limit)
        return Locked(
            ranges=ranges,
            owner=owner_org,
            quota=quota,
            calendars=calendars,
            # the admission function locks it after the ranges (the check does, after a peek)
            quota_locked=self._postgres,
            owned=owned,
        )

    def organisation(self, organisation_id: str) -> Organisation | None:
        return self._catalogue().get_organisation(organisation_id)

    def add_audit(self, event: AuditEvent) -> None:
        """The catalogue store's write (`write_later`), without the ORM session it would open on the
        admission path."""
        write_later(self._db, INSERT_AUDIT, audit_values(event))

    # -- bookings ----------------------------------------------------------------------------------
    def add_bookings(self, bookings: Sequence[Booking], *, audit: Sequence[AuditEvent] = ()) -> None:
        """In one statement on PostgreSQL, two on SQLite (`PostgresCalendar.insert`)."""
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

    def bookings_of_request(
        self, request_id: str, *, owner_organisation_id: str | None = None, for_update: bool = False
    ) -> list[Booking]:
        stmt = select_bookings().where(B.request_id == request_id).order_by(B.range_id)
        if owner_organisation_id is not None:
            stmt = stmt.where(B.owner_organisation_id == owner_organisation_id)
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
        """The owner's quota; locked, it is part of every admission of an organisation with one."""
        found = self._calendar.rows(LOCK_QUOTA if for_update else QUOTA, {"org": organisation_id})
        if not found:
            return None
        org, cpu, memory, slots, gpus = found[0]  # QUOTAS' columns, in the table's order
        return Quota(organisation_id=org, limit=Resources(cpu, memory, slots, gpus))

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


#: A kind 0 row of the admission function, read by column name like LOCK_RANGES' rows; its timestamps
#: come in the session's time zone (`utc` where a snapshot keeps them).
_ADMISSION_ROW = namedtuple("_ADMISSION_ROW", ADMISSION_COLUMNS)  # type: ignore[misc]
_FIRST_OCCUPANT_COLUMN = ADMISSION_COLUMNS.index("o_id")
_ADMISSION_WIDTH = len(ADMISSION_COLUMNS)

Calendars = dict[str, list[Occupant]]


class SqliteCalendar:
    """SQLite: portable statements one after the other; the transaction's BEGIN IMMEDIATE already holds
    the database, so the reads after the locking read see everything committed before."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def occupants(self, by: str, key: str, start: datetime, end: datetime, now: datetime) -> list[Occupant]:
        """`by` is "range_id" or "owner_organisation_id"; the port's `occupants` contract."""
        params: dict[str, Any] = {"key": key, "start": start, "end": end, "now": now}
        params.update({f"after_{c}": lower for c, lower, _ in probes(start, end)})
        return occupants_of(self._db.execute(CALENDAR[by], params))

    def rows(self, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """A statement of the admission path's rows, as tuples."""
        return [tuple(r) for r in self._db.execute(stmt, params)]

    def lock_and_read(
        self, refs: list[str], owner: str, calendar: CalendarRead | None
    ) -> tuple[Sequence[Any], Calendars, list[Occupant] | None]:
        """LOCK_RANGES' rows, then (when asked) each locked range's calendar; the quota's lock and the
        owner's calendar are left to the caller."""
        rows = self._db.execute(LOCK_RANGES, {"refs": refs, "owner": owner}).all()
        if calendar is None:
            return rows, {}, None
        calendars = {
            range_id: self.occupants("range_id", range_id, calendar.start, calendar.end, calendar.not_before)
            for range_id in dict.fromkeys(r.id for r in rows)
        }
        return rows, calendars, None

    def insert(self, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        """New bookings and their audit events (no data-modifying CTEs here: two statements)."""
        self._db.execute(INSERT_BOOKINGS, rows)
        if events:
            self._db.execute(INSERT_AUDIT, events)


class PostgresCalendar:
    """PostgreSQL: the admission read is one call of `federange_admission_read`, the insert one statement;
    the admission path's statements go through the driver's cursor (`DriverCursor`)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._driver = DriverCursor(connection)
        #: The check owed by the last read made without the locks (parameters, digest): sent first by
        #: the next insert.
        self._check: dict[str, Any] | None = None

    def rows(self, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """A statement of the admission path's rows, through the driver (no per-execution bookkeeping)."""
        return self._driver.run(stmt, params)

    def occupants(self, by: str, key: str, start: datetime, end: datetime, now: datetime) -> list[Occupant]:
        params = {"key": key, "start": start, "end": end, "now": now}
        return occupants_of(self._driver.run(PG_CALENDAR[by], params))

    def lock_and_read(
        self, refs: list[str], owner: str, calendar: CalendarRead | None
    ) -> tuple[Sequence[Any], Calendars, list[Occupant] | None]:
        """One call of the admission function: the range locks, then the owner's quota lock, then the
        rows (kind 0), the ranges' calendars (kind 1) and, when the owner has a quota, its calendar (kind
        2, else None)."""
        self._check = None
        params: dict[str, Any] = {
            "owner": owner,
            "start": None,
            "end": None,
            "not_before": None,
            "demand": None,
        }
        if calendar is not None:
            params.update(_calendar_params(calendar))
        if len(refs) == 1:
            found = self._driver.run(ADMISSION_READ_ONE, {"ref": refs[0], **params})
        else:
            found = self._driver.run(ADMISSION_READ, {"refs": refs, **params})
        return self._parsed(found, calendar)

    def try_lock_and_read(
        self, ref: str, owner: str, calendar: CalendarRead
    ) -> tuple[Sequence[Any], Calendars, list[Occupant] | None]:
        """What `lock_and_read` returns: read after the locks when the range's is free, else without
        them (`federange_admission_try`), and then the next insert sends the check first."""
        params: dict[str, Any] = {"ref": ref, "owner": owner, **_calendar_params(calendar)}
        found = self._driver.run(ADMISSION_TRY_ONE, params)
        digest = found[0][-1] if found else None
        self._check = None if digest is None else {**params, "digest": digest}
        return self._parsed([r[:_ADMISSION_WIDTH] for r in found], calendar)

    def _parsed(
        self, found: Sequence[Sequence[Any]], calendar: CalendarRead | None
    ) -> tuple[Sequence[Any], Calendars, list[Occupant] | None]:
        rows: list[Any] = [_ADMISSION_ROW._make(r) for r in found if r[0] == 0]
        if calendar is None:
            return rows, {}, None
        calendars: Calendars = {r.id: [] for r in rows}
        for occupant in occupants_of(r[_FIRST_OCCUPANT_COLUMN:] for r in found if r[0] == 1):
            calendars[occupant.range_id].append(occupant)
        if not rows or rows[0].q_cpu_millicores is None:
            return rows, calendars, None
        return rows, calendars, occupants_of(r[_FIRST_OCCUPANT_COLUMN:] for r in found if r[0] == 2)

    def insert(self, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        """One booking with one event (the common case): one prepared statement through the driver;
        several: the audit rows inserted by a data-modifying CTE around the bookings' INSERT. After a
        peek, the check goes first: deferred with a deferred insert, else sent now."""
        check, self._check = self._check, None
        if len(rows) == len(events) == 1:
            if check is not None:
                self._driver.defer(ADMISSION_CHECK_ONE, check)
            params = {f"b_{k}": v for k, v in rows[0].items()}
            params.update({f"a_{k}": v for k, v in events[0].items()})
            params.update(a_before=_jsonb(params["a_before"]), a_after=_jsonb(params["a_after"]))
            self._driver.defer(INSERT_BOOKING_AND_AUDIT, params)  # sent with the next statement or COMMIT
            return
        if check is not None:
            self._driver.run(ADMISSION_CHECK_ONE, check, rows=False)
        if events:
            new = insert(BOOKINGS).values(rows).cte("new_bookings")
            self._db.execute(insert(AUDIT).values(events).add_cte(new))
        else:
            self._db.execute(INSERT_BOOKINGS, rows)


def _calendar_params(calendar: CalendarRead) -> dict[str, Any]:
    """The admission functions' window and demand (`p_demand`: its amounts in DIMENSIONS' order, as an
    array literal: a text parameter costs the client less to send than a list, which the driver inspects
    element by element to choose the array's type)."""
    demand = calendar.demand
    return {
        "start": calendar.start,
        "end": calendar.end,
        "not_before": calendar.not_before,
        "demand": None if demand is None else "{" + ",".join(str(demand.get(d)) for d in DIMENSIONS) + "}",
    }


def calendar_for(connection: Connection) -> SqliteCalendar | PostgresCalendar:
    """The variant for the connection's database."""
    if connection.dialect.name == "postgresql":
        return PostgresCalendar(connection)
    return SqliteCalendar(connection)


def occupants_of(found: Iterable[Sequence[Any]]) -> list[Occupant]:
    """Occupants from calendar rows (OCCUPANT's columns, then the hold's expiry), timestamps as UTC."""
    return [
        Occupant(
            booking_id=booking_id,
            range_id=range_id,
            owner_organisation_id=owner,
            owner_country=country,
            start=utc(begin),
            end=utc(finish),
            demand=Resources(cpu, memory, slots, gpus),
            hold_expires_at=None if expiry is None else utc(expiry),
        )
        for booking_id, range_id, owner, country, begin, finish, cpu, memory, slots, gpus, expiry in found
    ]


def _jsonb(value: dict[str, Any] | None) -> object:
    from psycopg.types.json import Jsonb  # noqa: PLC0415 - psycopg is installed only with PostgreSQL

    return None if value is None else Jsonb(value)
