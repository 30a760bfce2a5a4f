"""SQL of the booking store: tables, statements built once (SQLAlchemy compiles each once; the database
prepares each once per connection), and the mappings between rows and booking values.

The calendar statements implement `orchestrator.booking.lengths.probes`: one index range scan per length
class over the partial index ix_bookings_range_calendar (or ix_bookings_owner_calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    case,
    column,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Row
from sqlalchemy.sql.selectable import TextualSelect

from connectors.base import DIMENSIONS, Resources
from orchestrator.booking.lengths import MAX_CLASS, length_class
from orchestrator.db.tables import (
    OCCUPYING_SQL,
    AuditRow,
    BookingRow,
    MaintenanceRow,
    OrganisationRow,
    QuotaRow,
    RangeRow,
)
from orchestrator.db.types import UTCDateTime
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
#: The partial indexes' predicate, spelled as in their definition so both databases can use them.
OCCUPYING = text("bookings." + OCCUPYING_SQL)
HELD = text("bookings.status = 'held'")
#: What a snapshot needs of a range row (never the connector config or its sealed secrets).
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
OWNER_ROW = (
    select(
        ORG.id.label("owner_id"),
        ORG.name.label("owner_name"),
        ORG.country.label("owner_country"),
        ORG.kind.label("owner_kind"),
        ORG.created_at.label("owner_created_at"),
        *(Q[d].label(f"q_{d}") for d in DIMENSIONS),
    )
    .select_from(OrganisationRow.__table__.outerjoin(QUOTAS, Q.organisation_id == ORG.id))
    .where(ORG.id == bindparam("owner"))
    .subquery("owner")
)
LOCK_RANGES = (
    select(*ALL_RANGES.selected_columns, *OWNER_ROW.c)
    .select_from(
        RangeRow.__table__.outerjoin(MaintenanceRow.__table__, M.range_id == R.id).outerjoin(
            OWNER_ROW, true()
        )
    )
    .where(or_(R.id.in_(bindparam("refs", expanding=True)), R.slug.in_(bindparam("refs", expanding=True))))
    .order_by(R.id, M.start)
    .with_for_update(of=RangeRow.__table__)
)
#: What admission reads of each occupying booking (then its hold's expiry, see `hold_expiry`).
OCCUPANT = ("id", "range_id", "owner_organisation_id", "owner_country", "start", "end", *DIMENSIONS)
#: PostgreSQL's LOCK_RANGES, with the calendars read after the locks in the same call (the function of
#: migration 0006; NULL :start reads no calendar). ADMISSION_COLUMNS names its columns, in order.
ADMISSION_COLUMNS = (
    "kind",
    *(c.name for c in RANGE_COLUMNS),
    "m_start",
    "m_end",
    "m_reason",
    *OWNER_ROW.c.keys(),
    *(f"o_{c}" for c in OCCUPANT),
    "o_hold_expires_at",
)
_ADMISSION_CALL = (
    "SELECT * FROM federange_admission_read(CAST(:refs AS VARCHAR[]), CAST(:owner AS VARCHAR),"
    " CAST(:start AS TIMESTAMPTZ), CAST(:end AS TIMESTAMPTZ), CAST(:not_before AS TIMESTAMPTZ))"
)
ADMISSION_READ = text(_ADMISSION_CALL).columns(*(column(c) for c in ADMISSION_COLUMNS))
#: The same for one range (most requests): a text parameter costs the client less to send than an array.
ADMISSION_READ_ONE = text(
    _ADMISSION_CALL.replace("CAST(:refs AS VARCHAR[])", "ARRAY[CAST(:ref AS VARCHAR)]")
).columns(*(column(c) for c in ADMISSION_COLUMNS))
QUOTA = select(QUOTAS).where(Q.organisation_id == bindparam("org"))
LOCK_QUOTA = QUOTA.with_for_update()
INSERT_BOOKINGS = insert(BOOKINGS)
#: The common case on PostgreSQL (one range): the booking and its audit event in one prepared statement.
INSERT_BOOKING_AND_AUDIT = (
    insert(AUDIT)
    .values({c.name: bindparam(f"a_{c.name}", type_=c.type) for c in AUDIT.c})
    .add_cte(
        insert(BOOKINGS)
        .values({c.name: bindparam(f"b_{c.name}", type_=c.type) for c in BOOKINGS.c})
        .cte("new_booking")
    )
)
INSERT_AUDIT = insert(AUDIT)


def hold_expiry(
    status: ColumnElement[Any] = B.status, expires: ColumnElement[Any] = B.hold_expires_at
) -> ColumnElement[Any]:
    """The expiry of a HELD booking's hold, NULL for the other statuses (Occupant.hold_expires_at)."""
    return case((status == BookingStatus.HELD.value, expires), else_=null()).label("hold_expiry")


def calendar_statement(key: ColumnElement[Any]) -> Select[Any]:
    """Occupying bookings overlapping [:start, :end) with `key` = :key: one index range scan per length
    class (see orchestrator.booking.lengths), as an OR of 17 index conditions. Built once with bound
    parameters: SQLAlchemy compiles it once, the database prepares it once per connection."""
    by_class = or_(
        *(
            and_(
                B.length_class == literal_column(str(c)),
                B.start > bindparam(f"after_{c}"),
                B.start < bindparam("end"),
            )
            for c in range(MAX_CLASS + 1)
        )
    )
    return (
        select(*(B[c] for c in OCCUPANT), hold_expiry())
        .where(key == bindparam("key"), OCCUPYING, by_class, B.end > bindparam("start"), live_hold())
        .order_by(B.start, B.id)
    )


def pg_calendar_statement(key: ColumnElement[Any]) -> Select[Any]:
    """The same probes for PostgreSQL, as a nested loop over the classes (generate_series) with one
    LATERAL index range scan each, the lower bound computed in SQL exactly as `lengths.probes` does
    (:start - 2^class hours). An OR of 17 branches costs more to plan than to run, and arrays of bounds
    cost the client more to send; this plan is cheap to make (OFFSET 0 keeps the planner from flattening
    the LATERAL subquery into a sequential scan). The function of migration 0006 repeats this query for
    the admission path; the store contract suite checks that both return the same calendar."""
    probe = (
        func.generate_series(literal_column("0"), literal_column(str(MAX_CLASS)))
        .table_valued("length_class")
        .render_derived(name="probe")
    )
    span: ColumnElement[Any] = literal_column("interval '1 hour'") * func.power(
        literal_column("2"), probe.c.length_class
    )
    found = (
        select(*(B[c] for c in OCCUPANT), B.status, B.hold_expires_at)
        .where(
            key == bindparam("key"),
            OCCUPYING,
            B.length_class == probe.c.length_class,
            B.start > bindparam("start", type_=UTCDateTime()) - span,
            B.start < bindparam("end"),
        )
        .order_by(B.start)  # the index's own order: keeps the planner on it while the table is near empty
        .offset(0)
        .lateral("found")
    )
    return (
        select(*(found.c[c] for c in OCCUPANT), hold_expiry(found.c.status, found.c.hold_expires_at))
        .select_from(probe)
        .join(found, true())
        .where(found.c.end > bindparam("start"), live_hold(found.c.status, found.c.hold_expires_at))
        .order_by(found.c.start, found.c.id)
    )


def live_hold(
    status: ColumnElement[Any] = B.status, expires: ColumnElement[Any] = B.hold_expires_at
) -> ColumnElement[bool]:
    return or_(status != BookingStatus.HELD.value, expires > bindparam("now", type_=UTCDateTime()))


CALENDAR = {k: calendar_statement(B[k]) for k in ("range_id", "owner_organisation_id")}
PG_CALENDAR = {k: pg_calendar_statement(B[k]) for k in ("range_id", "owner_organisation_id")}


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once to the driver's SQL text, with the values of its literal parameters."""

    sql: str
    defaults: dict[str, Any]
    columns: dict[str, int]

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **given}


_DRIVER: dict[str, Select[Any] | Insert | TextualSelect] = {
    "admission_read": ADMISSION_READ,
    "admission_read:one": ADMISSION_READ_ONE,
    "calendar:range_id": PG_CALENDAR["range_id"],
    "calendar:owner_organisation_id": PG_CALENDAR["owner_organisation_id"],
    "insert": INSERT_BOOKING_AND_AUDIT,
}


@cache
def driver_statement(name: str, dialect: Dialect) -> DriverStatement:
    """The admission path's statements on PostgreSQL, compiled for psycopg's `%(name)s` parameters."""
    stmt = _DRIVER[name]
    compiled = stmt.compile(dialect=dialect)
    columns = {} if isinstance(stmt, Insert) else {c: i for i, c in enumerate(stmt.selected_columns.keys())}
    return DriverStatement(
        str(compiled), {k: v for k, v in compiled.params.items() if v is not None}, columns
    )


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


def snapshot_of(row: Row[Any], maintenance: tuple[MaintenanceWindow, ...]) -> RangeSnapshot:
    return RangeSnapshot(
        id=row.id,
        slug=row.slug,
        country=row.country,
        operator_organisation=row.operator_organisation_id,
        capabilities=frozenset(row.capabilities),
        capacity=Resources(row.cpu_millicores, row.memory_mib, row.slots, row.gpus),
        policy=SharingPolicy(
            allowed_countries=frozenset(row.allowed_countries),
            allowed_organisations=frozenset(row.allowed_organisations),
            max_foreign_share=row.max_foreign_share,
            approval_required=row.approval_required,
            max_booking_length=minutes(row.max_booking_minutes),
            min_lead_time=minutes(row.min_lead_minutes),
            allow_privileged=row.allow_privileged,
        ),
        status=RangeStatus(row.status),
        maintenance=maintenance,
        preference=row.preference,
    )
