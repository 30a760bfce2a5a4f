"""trust: failed sign-ins counted per client, researcher bookings in range policies, idempotency keys
scoped per organisation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:30:00

- `auth_failures`: failed sign-ins of one client address in its current window, shared by every API
  replica (orchestrator.identity.throttle);
- `ranges.researcher_bookings`: whether researchers may book the range directly (otherwise only through
  environments); the admission function (0006) returns it too, so it is replaced by this version;
- a booking request's id is unique per owner organisation, not across the federation: one
  organisation's idempotency key can never collide with, or reveal, another's request.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_SIGNATURE = "federange_admission_read(varchar[], varchar, timestamptz, timestamptz, timestamptz)"

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
    -- The locks, in id order (two admissions over overlapping sets of ranges queue, never deadlock).
    PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id FOR UPDATE;
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
END
$fn$
"""


def _function_of_0006() -> str:
    spec = importlib.util.spec_from_file_location("v0006", Path(__file__).with_name("0006_admission_read.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_auth_failures")),
    )
    with op.batch_alter_table("ranges") as batch:
        batch.add_column(sa.Column("researcher_bookings", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("ranges") as batch:
        batch.alter_column("researcher_bookings", server_default=None)
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("uq_bookings_request_range", type_="unique")
        batch.create_unique_constraint(
            "uq_bookings_owner_request_range", ["owner_organisation_id", "request_id", "range_id"]
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
        op.execute(_function_of_0006())
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("uq_bookings_owner_request_range", type_="unique")
        batch.create_unique_constraint("uq_bookings_request_range", ["request_id", "range_id"])
    with op.batch_alter_table("ranges") as batch:
        batch.drop_column("researcher_bookings")
    op.drop_table("auth_failures")
