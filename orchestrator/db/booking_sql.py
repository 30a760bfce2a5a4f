"""SQL of the booking store that every database runs alike: tables, statements built once (SQLAlchemy
compiles each once; the database prepares each once per connection), the driver-level cursor of the
admission path, and the mappings between rows and booking values. What differs per database (the
calendar reads, the admission read, the insert of new bookings) is in `orchestrator.db.calendar_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ClauseElement, Dialect, Select, Table, bindparam, insert, or_, select, text
from sqlalchemy.engine import Connection, Row

from connectors.base import Resources
from orchestrator.booking.lengths import length_class
from orchestrator.db.engine import defer, flush_deferred
from orchestrator.db.tables import (
    AuditRow,
    BookingRow,
    MaintenanceRow,
    OrganisationRow,
    QuotaRow,
    RangeRow,
)
from orchestrator.domain.bookings import Booking, BookingStatus, Purpose
from orchestrator.domain.ranges import (
    MaintenanceWindow,
    RangeSnapshot,
    RangeStatus,
    SharingPolicy,
)
from orchestrator.identity.audit import AuditEvent

BOOKINGS = cast(Table, BookingRow.__table__)
QUOTAS = cast(Table, QuotaRow.__table__)
AUDIT = cast(Table, AuditRow.__table__)
B = BOOKINGS.c
R = RangeRow.__table__.c
M = MaintenanceRow.__table__.c
ORG = OrganisationRow.__table__.c
Q = QUOTAS.c
HELD = text("bookings.status = 'held'")
#: What an admission snapshot needs of a range row (never the connector config or its sealed secrets;
#: nor the policy's placement-only rules: `require_image_digests` is decided by placement, which reads
#: ranges through the catalogue, and admission's snapshots leave it at its default; nor where an imported
#: range comes from: a peer's range is admitted like any other here, and again by its home instance).
RANGE_COLUMNS = [
    c
    for c in RangeRow.__table__.c
    if c.name
    not in {
        "connector_config",
        "connector_secrets",
        "connector_kind",
        "description",
        "name",
        "created_at",
        "updated_at",
        "require_image_digests",
        "origin_peer_id",
    }
]


def select_bookings() -> Select[Any]:
    return select(BOOKINGS, R.slug.label("range_slug")).join(RangeRow, R.id == B.range_id)


# -- statements built once (SQLAlchemy compiles each once; the database prepares each once per connection)
ALL_RANGES = (
    select(*RANGE_COLUMNS, M.start.label("m_start"), M.end.label("m_end"), M.reason.label("m_reason"))
    .select_from(RangeRow.__table__.outerjoin(MaintenanceRow.__table__, M.range_id == R.id))
    .order_by(R.id, M.start)
)
RANGES = ALL_RANGES.where(
    or_(R.id.in_(bindparam("refs", expanding=True)), R.slug.in_(bindparam("refs", expanding=True)))
)
QUOTA = select(QUOTAS).where(Q.organisation_id == bindparam("org"))
LOCK_QUOTA = QUOTA.with_for_update()
INSERT_BOOKINGS = insert(BOOKINGS)
INSERT_AUDIT = insert(AUDIT)


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once to the driver's SQL text, with the values of its literal parameters."""

    sql: str
    defaults: dict[str, Any]

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **given}


@cache
def driver_statement(stmt: ClauseElement, dialect: Dialect) -> DriverStatement:
    """A statement of the admission path compiled for psycopg's `%(name)s` parameters, once per process."""
    compiled = stmt.compile(dialect=dialect)
    return DriverStatement(str(compiled), {k: v for k, v in compiled.params.items() if v is not None})


class DriverCursor:
    """Runs statements through the driver's own cursor, in the unit of work's transaction (PostgreSQL).

    The SQL is SQLAlchemy's, compiled once (`driver_statement`): this skips the per-execution statement
    bookkeeping, which costs as much client CPU as the round trip itself (see docs/benchmarks.md). Values
    are bound and read as the driver's types: callers pass aware datetimes and Jsonb, and convert
    timestamps to UTC.

    `defer` keeps a write for later instead of sending it: it goes out before the next statement of the
    transaction, whoever sends it (`flush_deferred`, hooked into the engine), or, when it is the last
    one, pipelined with the COMMIT (`commit_with_deferred`): the admission's INSERT then costs no round
    trip of its own while the range lock is held."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._cursor: Any = None

    def _driver_cursor(self) -> Any:
        if self._cursor is None:
            # One client-side cursor per unit of work (it holds no server resource and goes with it):
            # creating one costs about what binding a statement does.
            driver = self._db.connection.driver_connection
            assert driver is not None, "a unit of work's connection is always open"
            self._cursor = driver.cursor()
        return self._cursor

    def run(self, stmt: ClauseElement, params: dict[str, Any], *, rows: bool = True) -> list[tuple[Any, ...]]:
        compiled = driver_statement(stmt, self._db.dialect)
        cursor = self._driver_cursor()
        flush_deferred(self._db.info, cursor, then=(compiled.sql, compiled.params(params)))
        return cursor.fetchall() if rows else []

    def defer(self, stmt: ClauseElement, params: dict[str, Any]) -> None:
        compiled = driver_statement(stmt, self._db.dialect)
        defer(self._db, compiled.sql, compiled.params(params))


def utc(value: datetime) -> datetime:
    """A timestamp the driver read, as aware UTC (PostgreSQL returns the session's time zone; the column
    types convert, the driver-level statements of the admission path do not)."""
    return value.astimezone(UTC)


def audit_values(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "actor_principal_id": event.actor_principal_id,
        "actor_name": event.actor_name,
        "actor_organisation_id": event.actor_organisation_id,
        "action": event.action,
        "object_kind": event.object_kind,
        "object_id": event.object_id,
        "range_id": event.range_id,
        "organisation_id": event.organisation_id,
        "before": None if event.before is None else dict(event.before),
        "after": None if event.after is None else dict(event.after),
    }


def booking_values(b: Booking) -> dict[str, Any]:
    return {
        "id": b.id,
        "request_id": b.request_id,
        "range_id": b.range_id,
        "owner_organisation_id": b.owner_organisation_id,
        "owner_country": b.owner_country,
        "created_by": b.created_by,
        "purpose": b.purpose.value,
        "reference": b.reference,
        "start": b.start,
        "end": b.end,
        "length_class": length_class(b.start, b.end),
        "cpu_millicores": b.demand.cpu_millicores,
        "memory_mib": b.demand.memory_mib,
        "slots": b.demand.slots,
        "gpus": b.demand.gpus,
        "status": b.status.value,
        "status_reason": b.status_reason,
        "hold_expires_at": b.hold_expires_at,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
    }


def booking_of(row: Row[Any]) -> Booking:
    return Booking(
        id=row.id,
        request_id=row.request_id,
        range_id=row.range_id,
        range_slug=row.range_slug,
        owner_organisation_id=row.owner_organisation_id,
        owner_country=row.owner_country,
        created_by=row.created_by,
        purpose=Purpose(row.purpose),
        reference=row.reference,
        start=row.start,
        end=row.end,
        demand=Resources(row.cpu_millicores, row.memory_mib, row.slots, row.gpus),
        status=BookingStatus(row.status),
        status_reason=row.status_reason,
        hold_expires_at=row.hold_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def capacity_of(row: Any) -> Resources:
    """A range row's shared capacity (a catalogue row or an admission row)."""
    return Resources(row.cpu_millicores, row.memory_mib, row.slots, row.gpus)


def policy_of(row: Any) -> SharingPolicy:
    """A range row's sharing policy: a catalogue row, or an admission row (RANGE_COLUMNS), which leaves
    out the placement-only `require_image_digests` (its default there)."""
    return SharingPolicy(
        allowed_countries=frozenset(row.allowed_countries),
        allowed_organisations=frozenset(row.allowed_organisations),
        max_foreign_share=row.max_foreign_share,
        approval_required=row.approval_required,
        max_booking_length=minutes(row.max_booking_minutes),
        min_lead_time=minutes(row.min_lead_minutes),
        allow_privileged=row.allow_privileged,
        researcher_bookings=row.researcher_bookings,
        require_image_digests=getattr(row, "require_image_digests", False),
    )


def snapshot_of(row: Row[Any], maintenance: tuple[MaintenanceWindow, ...]) -> RangeSnapshot:
    return RangeSnapshot(
        id=row.id,
        slug=row.slug,
        country=row.country,
        operator_organisation=row.operator_organisation_id,
        capabilities=frozenset(row.capabilities),
        capacity=capacity_of(row),
        policy=policy_of(row),
        status=RangeStatus(row.status),
        maintenance=maintenance,
        preference=row.preference,
    )
