"""admission: the owner's quota locked and its calendar read in the admission call

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 21:45:00

`federange_admission_read` (0009's) also locks the owner organisation's quota row, right after the range
rows, and returns the owner's occupying bookings on every range (rows of kind 2) when it has a quota: an
admission for an organisation with a quota (every organisation made through the API) no longer makes two
more round trips for them while it holds the range locks. The signature and the columns are unchanged, so
code that does not read kind 2 rows keeps working (it takes the quota's lock again, which it already holds).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FUNCTION = r"""CREATE OR REPLACE FUNCTION federange_admission_read(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz
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
) LANGUAGE plpgsql VOLATILE
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
BEGIN
    -- The locks, in id order (two admissions over overlapping sets of ranges queue, never deadlock), then
    -- the owner's quota (always after the ranges: two admissions of one organisation on different ranges
    -- cannot both use the last of it).
    PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id FOR UPDATE;
    PERFORM 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner FOR UPDATE;
    -- Every statement from here on reads a snapshot taken after the locks were granted.
    RETURN QUERY
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
    FOR v_range IN SELECT r.id FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
    LOOP
        RETURN QUERY
            SELECT 1::smallint,
                   NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::jsonb,
                   NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                   NULL::jsonb, NULL::jsonb, NULL::double precision,
                   NULL::boolean, NULL::integer, NULL::integer,
                   NULL::boolean, NULL::boolean, NULL::integer, NULL::varchar,
                   NULL::timestamptz, NULL::timestamptz, NULL::text,
                   NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
                   NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                   b.id, b.range_id, b.owner_organisation_id, b.owner_country,
                   b.start, b."end", b.cpu_millicores, b.memory_mib, b.slots, b.gpus,
                   CASE WHEN b.status = 'held' THEN b.hold_expires_at END
            FROM generate_series(0, 16) AS probe(length_class)
            CROSS JOIN LATERAL (
                SELECT bk.id, bk.range_id, bk.owner_organisation_id, bk.owner_country, bk.start,
                       bk."end", bk.cpu_millicores, bk.memory_mib, bk.slots, bk.gpus, bk.status,
                       bk.hold_expires_at
                FROM bookings bk
                WHERE bk.range_id = v_range
                  AND bk.status IN ('held', 'pending_approval', 'confirmed', 'active')
                  AND bk.length_class = probe.length_class
                  AND bk.start > p_start - interval '1 hour' * power(2, probe.length_class)
                  AND bk.start < p_end
                -- The index's own order: keeps the planner on it even while the table is near empty.
                ORDER BY bk.start
                OFFSET 0
            ) AS b
            WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
            ORDER BY b.start, b.id;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner) THEN
        RETURN;
    END IF;
    -- The owner's calendar on every range, as PG_CALENDAR's owner variant reads it, over
    -- ix_bookings_owner_calendar.
    RETURN QUERY
        SELECT 2::smallint,
               NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::jsonb,
               NULL::integer, NULL::integer, NULL::integer, NULL::integer,
               NULL::jsonb, NULL::jsonb, NULL::double precision,
               NULL::boolean, NULL::integer, NULL::integer,
               NULL::boolean, NULL::boolean, NULL::integer, NULL::varchar,
               NULL::timestamptz, NULL::timestamptz, NULL::text,
               NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
               NULL::integer, NULL::integer, NULL::integer, NULL::integer,
               b.id, b.range_id, b.owner_organisation_id, b.owner_country,
               b.start, b."end", b.cpu_millicores, b.memory_mib, b.slots, b.gpus,
               CASE WHEN b.status = 'held' THEN b.hold_expires_at END
        FROM generate_series(0, 16) AS probe(length_class)
        CROSS JOIN LATERAL (
            SELECT bk.id, bk.range_id, bk.owner_organisation_id, bk.owner_country, bk.start,
                   bk."end", bk.cpu_millicores, bk.memory_mib, bk.slots, bk.gpus, bk.status,
                   bk.hold_expires_at
            FROM bookings bk
            WHERE bk.owner_organisation_id = p_owner
              AND bk.status IN ('held', 'pending_approval', 'confirmed', 'active')
              AND bk.length_class = probe.length_class
              AND bk.start > p_start - interval '1 hour' * power(2, probe.length_class)
              AND bk.start < p_end
            ORDER BY bk.start
            OFFSET 0
        ) AS b
        WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
        ORDER BY b.start, b.id;
END
$fn$
"""


def _function_of_0009() -> str:
    spec = importlib.util.spec_from_file_location("v0009", Path(__file__).with_name("0009_trust.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function_of_0009())
