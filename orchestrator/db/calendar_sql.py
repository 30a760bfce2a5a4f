"""The booking calendar's SQL on each database, every variant together: what occupies a range (or an
organisation's ranges) over a window, the admission read (lock the ranges, then read them, the owner, its
quota and their calendars), and the insert of new bookings with their audit events.

A calendar is read through a partial index the way `orchestrator.booking.lengths.probes` says (one index
range scan per length class), spelled once per place it runs: `calendar_statement` (portable, the bounds
computed in Python: SQLite), `pg_calendar_statement` (a LATERAL scan per class, the bounds computed in
SQL) and `ADMISSION_FUNCTION` (PL/pgSQL: the range locks, then every read, in one round trip; each of its
statements reads a snapshot taken after the locks were granted; `LOCKS_FUNCTION` takes them: the range
rows shared and one lock per range and UTC day of the window). Migrations 0006, 0009 and 0015 to 0019
installed their versions and keep their own copies of the text, as history does; a test checks that the
database runs these. The store contract (tests/unit/booking/store_contract.py, over the in-memory store
and SQLite and PostgreSQL) reads the same calendars through every variant and both forms of the function
(the owner's calendar too) and compares each with one expectation.
`orchestrator.db.booking_store` runs them (`SqliteCalendar`, `PostgresCalendar`).
"""

from __future__ import annotations

import textwrap
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
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

from connectors.base import DIMENSIONS
from orchestrator.booking.lengths import MAX_CLASS
from orchestrator.db.booking_sql import (
    ALL_RANGES,
    AUDIT,
    BOOKINGS,
    ORG,
    QUOTAS,
    RANGE_COLUMNS,
    B,
    M,
    Q,
    R,
)
from orchestrator.db.tables import OCCUPYING_SQL, MaintenanceRow, OrganisationRow, RangeRow
from orchestrator.db.types import UTCDateTime
from orchestrator.domain.bookings import BookingStatus

#: The partial indexes' predicate, spelled as in their definition so both databases can use them.
OCCUPYING = text("bookings." + OCCUPYING_SQL)
#: What a calendar read returns of each occupying booking (then its hold's expiry, see `hold_expiry`).
OCCUPANT = ("id", "range_id", "owner_organisation_id", "owner_country", "start", "end", *DIMENSIONS)


def hold_expiry(
    status: ColumnElement[Any] = B.status, expires: ColumnElement[Any] = B.hold_expires_at
) -> ColumnElement[Any]:
    """The expiry of a HELD booking's hold, NULL for the other statuses (Occupant.hold_expires_at)."""
    return case((status == BookingStatus.HELD.value, expires), else_=null()).label("hold_expiry")


def live_hold(
    status: ColumnElement[Any] = B.status, expires: ColumnElement[Any] = B.hold_expires_at
) -> ColumnElement[bool]:
    return or_(status != BookingStatus.HELD.value, expires > bindparam("now", type_=UTCDateTime()))


def calendar_statement(key: ColumnElement[Any]) -> Select[Any]:
    """Occupying bookings overlapping [:start, :end) with `key` = :key: one index range scan per length
    class, as an OR of 17 index conditions whose lower bounds (:after_<class>) the caller computes
    (`SqliteCalendar.occupants`). Built once with bound parameters: SQLAlchemy compiles it once, the
    database prepares it once per connection."""
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
    """The same probes for PostgreSQL: a nested loop over the classes (generate_series), one LATERAL index
    range scan each, the lower bound computed in SQL as `lengths.probes` does (:start - 2^class hours). An
    OR of 17 branches costs more to plan than to run, and arrays of bounds cost more to send; OFFSET 0
    keeps the planner from flattening the LATERAL subquery into a sequential scan."""
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


CALENDAR = {k: calendar_statement(B[k]) for k in ("range_id", "owner_organisation_id")}
PG_CALENDAR = {k: pg_calendar_statement(B[k]) for k in ("range_id", "owner_organisation_id")}

# -- the admission read -----------------------------------------------------------------------------------
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
#: SQLite's admission read (the calendars follow, one statement per range): the ranges by id or slug
#: with their maintenance windows and the owner and its quota joined, FOR UPDATE in id order (SQLite
#: ignores the clause: its transactions start with BEGIN IMMEDIATE, see orchestrator.db.engine).
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
#: The columns of `federange_admission_read` (ADMISSION_FUNCTION), in order.
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
    " CAST(:start AS TIMESTAMPTZ), CAST(:end AS TIMESTAMPTZ), CAST(:not_before AS TIMESTAMPTZ),"
    " CAST(:demand AS INTEGER[]))"
)
ADMISSION_READ = text(_ADMISSION_CALL).columns(*(column(c) for c in ADMISSION_COLUMNS))
#: The same for one range (most requests): a text parameter costs the client less to send than an array.
ADMISSION_READ_ONE = text(
    _ADMISSION_CALL.replace("CAST(:refs AS VARCHAR[])", "ARRAY[CAST(:ref AS VARCHAR)]")
).columns(*(column(c) for c in ADMISSION_COLUMNS))
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

#: The function behind ADMISSION_READ, as migration 0019 installed it (0015's, the owner's quota locked
#: and its calendar read in the same call, with 0017's locks, 0018's summed calendars and 0019's leaner
#: statements for them): kind 0 rows are LOCK_RANGES' (the owner and its quota joined, the quota row
#: locked after the range rows), kind 1 rows the occupants of each locked range, kind 2 rows the
#: occupants of the owner's bookings on every range when it has a quota (the quota check's calendar;
#: neither kind when p_start is NULL; holds expired at p_not_before left out). Given the request's demand
#: (`p_demand`, one range), a calendar the demand fits whole comes as one aggregate occupant
#: (`CalendarRead.demand`).
_NO_RANGE = """\
NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::jsonb,
NULL::integer, NULL::integer, NULL::integer, NULL::integer,
NULL::jsonb, NULL::jsonb, NULL::double precision,
NULL::boolean, NULL::integer, NULL::integer,
NULL::boolean, NULL::boolean, NULL::integer, NULL::varchar,
NULL::timestamptz, NULL::timestamptz, NULL::text,
NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
NULL::integer, NULL::integer, NULL::integer, NULL::integer,"""


def _no_range(indent: int) -> str:
    """The admission function's columns before an occupant's, all NULL (kind 1 and 2 rows), indented."""
    return textwrap.indent(_NO_RANGE, " " * indent)


#: The demand fits beside the sums of what overlaps it in each of the four dimensions (cpu, memory, slots,
#: gpus, as every statement here spells them), within the range's capacity or the owner's quota.
_FITS = (
    "v_sums[1] + p_demand[1] <= v_limits[1] AND v_sums[2] + p_demand[2] <= v_limits[2]"
    " AND v_sums[3] + p_demand[3] <= v_limits[3] AND v_sums[4] + p_demand[4] <= v_limits[4]"
)


def _aggregate(kind: int, range_id: str, owner: str, indent: int) -> str:
    """The summed calendar's one row (`v_sums` over the whole window), returned from the function's own
    columns (RETURN NEXT: no statement to start), indented; the columns it does not set stay NULL."""
    row = f"""kind := {kind}; o_id := ''; o_range_id := {range_id}; o_owner_organisation_id := {owner};
o_owner_country := ''; o_start := p_start; o_end := p_end;
o_cpu_millicores := v_sums[1]; o_memory_mib := v_sums[2]; o_slots := v_sums[3]; o_gpus := v_sums[4];
RETURN NEXT;"""
    return textwrap.indent(row, " " * indent)


def _scan(key: str, indent: int, *, rows: bool, note: bool = False) -> str:
    """The calendar's LATERAL index range scan of one length class (`probe.length_class`) of the
    bookings `key` selects (one range's, or the owner's), indented; `rows` reads what an occupant row
    needs, otherwise only what the sums need; `note` says why the scan is ordered."""
    columns = (
        "bk.id, bk.range_id, bk.owner_organisation_id, bk.owner_country, bk.start,\n           "
        if rows
        else ""
    )
    order = "-- The index's own order: keeps the planner on it even while the table is near empty.\n    "
    scan = f"""CROSS JOIN LATERAL (
    SELECT {columns}bk."end", bk.cpu_millicores, bk.memory_mib, bk.slots, bk.gpus, bk.status,
           bk.hold_expires_at
    FROM bookings bk
    WHERE {key}
      AND bk.status IN ('held', 'pending_approval', 'confirmed', 'active')
      AND bk.length_class = probe.length_class
      AND bk.start > p_start - interval '1 hour' * power(2, probe.length_class)
      AND bk.start < p_end
    {order if note else ""}ORDER BY bk.start
    OFFSET 0
) AS b"""  # noqa: S608 (constant text, no input)
    return textwrap.indent(scan, " " * indent)


_ADMISSION_TEMPLATE = rf"""
CREATE OR REPLACE FUNCTION __NAME__(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz,
    p_demand integer[]
) RETURNS TABLE (
    kind smallint,
    id varchar, slug varchar, operator_organisation_id varchar, country varchar, capabilities jsonb,
    cpu_millicores integer, memory_mib integer, slots integer, gpus integer,
    allowed_countries jsonb, allowed_organisations jsonb, max_foreign_share double precision,
    approval_required boolean, max_booking_minutes integer, min_lead_minutes integer,
    allow_privileged boolean, researcher_bookings boolean, preference integer, status varchar,
    m_start timestamptz, m_end timestamptz, m_reason text,
    owner_id varchar, owner_name varchar, owner_country varchar, owner_kind varchar,
    owner_created_at timestamptz,
    q_cpu_millicores integer, q_memory_mib integer, q_slots integer, q_gpus integer,
    o_id varchar, o_range_id varchar, o_owner_organisation_id varchar, o_owner_country varchar,
    o_start timestamptz, o_end timestamptz, o_cpu_millicores integer, o_memory_mib integer,
    o_slots integer, o_gpus integer, o_hold_expires_at timestamptz
) LANGUAGE plpgsql __VOLATILITY__
-- Every read here has an index made for it, and PL/pgSQL keeps one plan per statement for the life of
-- the connection. Left to itself it plans the calendar query again on every call (custom plans, about
-- four times its run time), and a plan made while a table was still small may scan it in full for as
-- long as the connection lives. So: one generic plan per statement, and no sequential scans.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
    v_range varchar;
    v_limits integer[];
    v_summable boolean;
    v_sums bigint[];
BEGIN
__LOCKS__    RETURN QUERY
        SELECT 0::smallint,
               r.id, r.slug, r.operator_organisation_id, r.country, r.capabilities,
               r.cpu_millicores, r.memory_mib, r.slots, r.gpus,
               r.allowed_countries, r.allowed_organisations, r.max_foreign_share,
               r.approval_required, r.max_booking_minutes, r.min_lead_minutes,
               r.allow_privileged, r.researcher_bookings, r.preference, r.status,
               m.start, m."end", m.reason,
               o.id, o.name, o.country, o.kind, o.created_at,
               q.cpu_millicores, q.memory_mib, q.slots, q.gpus,
               NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar,
               NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::integer,
               NULL::integer, NULL::integer, NULL::timestamptz
        FROM ranges r
        LEFT JOIN maintenance_windows m ON m.range_id = r.id
        LEFT JOIN organisations o ON o.id = p_owner
        LEFT JOIN organisation_quotas q ON q.organisation_id = o.id
        WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs)
        ORDER BY r.id, m.start;
    IF p_start IS NULL THEN
        RETURN;
    END IF;
    -- Each range's calendar: one index range scan per length class over ix_bookings_range_calendar
    -- (orchestrator.booking.lengths), as PG_CALENDAR does, the range id a parameter so that the plan
    -- can only use that index's three columns.
    -- Given `p_demand` (a request of one range): when that demand fits even if every booking
    -- overlapping the window ran at the same instant (with no maintenance in the window and no foreign
    -- share limit for the owner: `v_summable`), the calendar comes as one aggregate occupant over the
    -- whole window (booking id '', owner country '', so foreign too): an upper bound of the range's use,
    -- and of its foreign use, at every instant, which is all the admission needs. Otherwise (nothing
    -- overlaps, or it does not fit so) booking by booking, as without `p_demand`.
    FOR v_range, v_limits, v_summable IN
        SELECT r.id, ARRAY[r.cpu_millicores, r.memory_mib, r.slots, r.gpus],
               p_demand IS NOT NULL
               AND (r.max_foreign_share >= 1
                    OR r.country = (SELECT ow.country FROM organisations ow WHERE ow.id = p_owner))
               AND NOT EXISTS (SELECT 1 FROM maintenance_windows m
                               WHERE m.range_id = r.id AND m.start < p_end AND p_start < m."end")
        FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
    LOOP
        IF v_summable THEN
            SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)] INTO v_sums
            FROM generate_series(0, 16) AS probe(length_class)
{_scan("bk.range_id = v_range", 12, rows=False)}
            WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before);
            IF v_sums[1] IS NULL THEN
                CONTINUE;  -- no booking overlaps the window
            END IF;
            IF {_FITS} THEN
{_aggregate(1, "v_range", "''", 16)}
                CONTINUE;
            END IF;
        END IF;
        RETURN QUERY
            SELECT 1::smallint,
{_no_range(19)}
                   b.id, b.range_id, b.owner_organisation_id, b.owner_country,
                   b.start, b."end", b.cpu_millicores, b.memory_mib, b.slots, b.gpus,
                   CASE WHEN b.status = 'held' THEN b.hold_expires_at END
            FROM generate_series(0, 16) AS probe(length_class)
{_scan("bk.range_id = v_range", 12, rows=True, note=True)}
            WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
            ORDER BY b.start, b.id;
    END LOOP;
    SELECT ARRAY[q.cpu_millicores, q.memory_mib, q.slots, q.gpus] INTO v_limits
    FROM organisation_quotas q WHERE q.organisation_id = p_owner;
    IF NOT FOUND THEN
        RETURN;  -- no quota: no owner's calendar to check
    END IF;
    -- Given `p_demand`, when the owner's bookings and the demand fit its quota even all at once, one
    -- aggregate occupant over the window (booking and range id ''), as for the ranges above.
    IF p_demand IS NOT NULL THEN
        SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)] INTO v_sums
        FROM generate_series(0, 16) AS probe(length_class)
{_scan("bk.owner_organisation_id = p_owner", 8, rows=False)}
        WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before);
        IF v_sums[1] IS NULL THEN
            RETURN;  -- none of the owner's bookings overlaps the window
        END IF;
        IF {_FITS} THEN
{_aggregate(2, "''", "p_owner", 12)}
            RETURN;
        END IF;
    END IF;
    -- The owner's calendar on every range, as PG_CALENDAR's owner variant reads it, over
    -- ix_bookings_owner_calendar.
    RETURN QUERY
        SELECT 2::smallint,
{_no_range(15)}
               b.id, b.range_id, b.owner_organisation_id, b.owner_country,
               b.start, b."end", b.cpu_millicores, b.memory_mib, b.slots, b.gpus,
               CASE WHEN b.status = 'held' THEN b.hold_expires_at END
        FROM generate_series(0, 16) AS probe(length_class)
{_scan("bk.owner_organisation_id = p_owner", 8, rows=True)}
        WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
        ORDER BY b.start, b.id;
END
$fn$
"""  # noqa: S608 (constant text, no input)
#: The most UTC days a window may touch and still be admitted under day locks (a longer one locks its
#: ranges exclusively, see LOCKS_FUNCTION).
DAY_LOCKS_MAX = 31
#: The admission's locks, in one order everywhere (so two admissions queue and never deadlock): the
#: ranges' rows in id order, then one transaction-scoped advisory lock per (range, UTC day) the window
#: touches, in key order, then the owner's quota row. The range rows are locked FOR SHARE: admissions
#: of windows that touch no common day of a range run side by side, and two windows that overlap share
#: the day of any instant they share, so those queue on its lock. Whatever changes what an admission
#: reads of the range itself (its capacity, policy or maintenance) updates or locks its row, and waits
#: for the admissions in flight; so does a window of no dates (a confirmation, a renewal: `p_start`
#: NULL) or one longer than DAY_LOCKS_MAX days, which locks the range rows FOR UPDATE and so queues with
#: every admission on them. With `p_wait` false (one range only) nothing waits: it returns false at the
#: first lock held elsewhere (keeping those it took, a prefix of the order) and true once it holds all.
LOCKS_FUNCTION = (
    r"""
CREATE OR REPLACE FUNCTION federange_admission_locks(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_wait boolean
) RETURNS boolean LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    v_first integer := floor(extract(epoch FROM p_start) / 86400);
    v_last integer := ceil(extract(epoch FROM p_end) / 86400) - 1;
    v_ids varchar[];
    v_keys integer[];
    v_key integer;
    v_day integer;
BEGIN
    IF p_start IS NULL OR v_last - v_first >= __MAX_DAYS__ THEN
        IF p_wait THEN
            PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
                FOR UPDATE;
        ELSE
            PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
                FOR UPDATE SKIP LOCKED;
            IF NOT FOUND THEN
                RETURN false;
            END IF;
        END IF;
    ELSE
        IF p_wait THEN
            v_ids := ARRAY(SELECT r.id FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs)
                           ORDER BY r.id FOR SHARE);
        ELSE
            v_ids := ARRAY(SELECT r.id FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs)
                           ORDER BY r.id FOR SHARE SKIP LOCKED);
            IF cardinality(v_ids) = 0 THEN
                RETURN false;
            END IF;
        END IF;
        -- The lock keys in order (one range, the common case, without a query).
        IF cardinality(v_ids) = 1 THEN
            v_keys := ARRAY[hashtext(v_ids[1])];
        ELSE
            v_keys := ARRAY(SELECT DISTINCT hashtext(i) FROM unnest(v_ids) AS i ORDER BY 1);
        END IF;
        FOREACH v_key IN ARRAY v_keys LOOP
            FOR v_day IN v_first..v_last LOOP
                IF p_wait THEN
                    PERFORM pg_advisory_xact_lock(v_key, v_day);
                ELSIF NOT pg_try_advisory_xact_lock(v_key, v_day) THEN
                    RETURN false;
                END IF;
            END LOOP;
        END LOOP;
    END IF;
    -- The owner's quota always after the ranges: two admissions of one organisation on different
    -- ranges cannot both use the last of it.
    PERFORM 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner FOR UPDATE;
    RETURN true;
END
$fn$
"""
).replace("__MAX_DAYS__", str(DAY_LOCKS_MAX))
ADMISSION_LOCKS = """\
    PERFORM federange_admission_locks(p_refs, p_owner, p_start, p_end, true);
    -- Every statement from here on reads a snapshot taken after the locks were granted.
"""


def admission_function(name: str, *, volatility: str, locks: str) -> str:
    """The text of an admission function: ADMISSION_FUNCTION's reads, after `locks`."""
    return (
        _ADMISSION_TEMPLATE.replace("__NAME__", name)
        .replace("__VOLATILITY__", volatility)
        .replace("__LOCKS__", locks)
    )


ADMISSION_FUNCTION = admission_function(
    "federange_admission_read", volatility="VOLATILE", locks=ADMISSION_LOCKS
)

# -- the optimistic admission (one range): read without the locks, decide, then check under them ----------
#: The admission read without the locks, every read on one snapshot (a STABLE function reads the snapshot
#: of the statement that calls it). `federange_admission_check` calls it again once it holds the locks.
PEEK_FUNCTION = admission_function(
    "federange_admission_peek",
    volatility="STABLE",
    locks="    -- No locks here, and every read on the calling statement's snapshot (STABLE).\n",
)
#: What the peek read, as one text: the digest of its rows in order (`f::text` prints every column).
_DIGEST = "md5(string_agg(f::text, ',' ORDER BY f.ordinality))"
#: The error `federange_admission_check` raises when what the admission read has changed since.
CALENDAR_CHANGED_SQLSTATE = "YF001"
CHECK_FUNCTION = (
    r"""
CREATE OR REPLACE FUNCTION federange_admission_check(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz,
    p_demand integer[], p_digest text
) RETURNS void LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
__LOCKS__    -- The peek called here therefore reads what the locked admission read would; the decision
    -- taken on the earlier peek stands only if that is the same, row for row.
    IF (SELECT __DIGEST__
        FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before, p_demand)
             WITH ORDINALITY AS f)
       IS DISTINCT FROM p_digest THEN
        RAISE EXCEPTION 'the calendar changed after the admission read it'
            USING ERRCODE = '__SQLSTATE__';
    END IF;
END
$fn$
""".replace("__LOCKS__", ADMISSION_LOCKS)
    .replace("__DIGEST__", _DIGEST)
    .replace("__SQLSTATE__", CALENDAR_CHANGED_SQLSTATE)
)
#: The admission read that does not wait for a lock another transaction holds (one range): when its
#: locks are free, it takes them as `federange_admission_read` does and reads after them (digest NULL);
#: when one is held, it reads without waiting and returns the digest of what it read, which
#: `federange_admission_check` compares before the write. So an uncontended admission costs what it
#: always did, and a contended one does not wait while the holder decides.
TRY_FUNCTION = (
    r"""
CREATE OR REPLACE FUNCTION federange_admission_try(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz,
    p_demand integer[]
) RETURNS TABLE (
__COLUMNS__,
    digest text
) LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
BEGIN
    IF federange_admission_locks(p_refs, p_owner, p_start, p_end, false) THEN
        -- A snapshot taken after the locks were granted.
        RETURN QUERY SELECT f.*, NULL::text
            FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before, p_demand) AS f;
        RETURN;
    END IF;
    RETURN QUERY
        WITH f AS MATERIALIZED (
            SELECT * FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before, p_demand)
                WITH ORDINALITY
        )
        SELECT __PEEKED__, (SELECT __DIGEST__ FROM f) FROM f ORDER BY f.ordinality;
END
$fn$
""".replace("__COLUMNS__", _ADMISSION_TEMPLATE.split("RETURNS TABLE (\n", 1)[1].split("\n) LANGUAGE", 1)[0])
    .replace("__PEEKED__", ",\n               ".join(f"f.{c}" for c in ADMISSION_COLUMNS))
    .replace("__DIGEST__", _DIGEST)
)
#: One range's admission read through `federange_admission_try`: ADMISSION_COLUMNS, then the digest
#: (NULL when the locks were taken).
ADMISSION_TRY_ONE = text(
    "SELECT * FROM federange_admission_try(ARRAY[CAST(:ref AS VARCHAR)], CAST(:owner AS VARCHAR),"
    " CAST(:start AS TIMESTAMPTZ), CAST(:end AS TIMESTAMPTZ), CAST(:not_before AS TIMESTAMPTZ),"
    " CAST(:demand AS INTEGER[]))"
).columns(*(column(c) for c in (*ADMISSION_COLUMNS, "digest")))
#: The check of one range, sent with the INSERT and the COMMIT (it raises, and they do not happen, when
#: the peek's rows changed).
ADMISSION_CHECK_ONE = text(
    "SELECT federange_admission_check(ARRAY[CAST(:ref AS VARCHAR)], CAST(:owner AS VARCHAR),"
    " CAST(:start AS TIMESTAMPTZ), CAST(:end AS TIMESTAMPTZ), CAST(:not_before AS TIMESTAMPTZ),"
    " CAST(:demand AS INTEGER[]), CAST(:digest AS TEXT))"
)
