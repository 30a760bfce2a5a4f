"""admission: the summed calendar without the range's (or the quota's) row in its statement

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:20:00

0018's summed calendar joined the range row (or the owner's quota row) to the bookings it summed and
grouped by it, to decide in the same statement whether the demand fits. On a small calendar (the common
case) that cost the server more than reading the few rows one by one had. Now the loop over the
request's ranges reads each range's capacity and whether its calendar may be summed at all (a demand
given, no foreign share limit for the owner, no maintenance in the window) with the range's id, the
quota is read into a variable where its existence was checked, the summing statement reads the
bookings alone, the fit is decided in PL/pgSQL, and the summed row is returned from the function's own
columns (RETURN NEXT) rather than by a statement. What the functions return is unchanged; only the
read and the peek change (their arguments too stay as they were).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: What changes in 0018's read and peek, in order: each piece of text once in each, replaced. The last
#: two return the summed rows from the function's own columns (RETURN NEXT) instead of a statement.
_FITS = (
    "v_sums[1] + p_demand[1] <= v_limits[1] AND v_sums[2] + p_demand[2] <= v_limits[2]"
    " AND v_sums[3] + p_demand[3] <= v_limits[3] AND v_sums[4] + p_demand[4] <= v_limits[4]"
)
CHANGES = (
    (
        """    v_sums bigint[];
    v_fits boolean;
""",
        """    v_limits integer[];
    v_summable boolean;
    v_sums bigint[];
""",
    ),
    (
        """    FOR v_range IN SELECT r.id FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
    LOOP
        -- Given `p_demand` (a request of one range): when that demand fits even if every booking
        -- overlapping the window ran at the same instant (with no maintenance in the window and no
        -- foreign share limit for the owner), the calendar comes as one aggregate occupant over the whole
        -- window (booking id '', owner country '', so foreign too): an upper bound of the range's use, and
        -- of its foreign use, at every instant, which is all the admission needs. Otherwise (nothing
        -- overlaps, or it does not fit so) booking by booking, as without `p_demand`.
        IF p_demand IS NOT NULL THEN
            SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)],
                   sum(b.cpu_millicores) + p_demand[1] <= r.cpu_millicores
                   AND sum(b.memory_mib) + p_demand[2] <= r.memory_mib
                   AND sum(b.slots) + p_demand[3] <= r.slots AND sum(b.gpus) + p_demand[4] <= r.gpus
                   AND (r.max_foreign_share >= 1
                        OR r.country = (SELECT ow.country FROM organisations ow WHERE ow.id = p_owner))
                   AND NOT EXISTS (SELECT 1 FROM maintenance_windows m
                                   WHERE m.range_id = r.id AND m.start < p_end AND p_start < m."end")
            INTO v_sums, v_fits
            FROM ranges r
            CROSS JOIN generate_series(0, 16) AS probe(length_class)
""",
        """    -- Given `p_demand` (a request of one range): when that demand fits even if every booking
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
""",
    ),
    (
        """            WHERE r.id = v_range
              AND b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
            GROUP BY r.id;
            IF NOT FOUND THEN
                CONTINUE;  -- no booking overlaps the window
            END IF;
            IF v_fits THEN
""",
        f"""            WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before);
            IF v_sums[1] IS NULL THEN
                CONTINUE;  -- no booking overlaps the window
            END IF;
            IF {_FITS} THEN
""",
    ),
    (
        """    IF NOT EXISTS (SELECT 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner) THEN
        RETURN;
    END IF;
""",
        """    SELECT ARRAY[q.cpu_millicores, q.memory_mib, q.slots, q.gpus] INTO v_limits
    FROM organisation_quotas q WHERE q.organisation_id = p_owner;
    IF NOT FOUND THEN
        RETURN;  -- no quota: no owner's calendar to check
    END IF;
""",
    ),
    (
        """        SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)],
               sum(b.cpu_millicores) + p_demand[1] <= q.cpu_millicores
               AND sum(b.memory_mib) + p_demand[2] <= q.memory_mib
               AND sum(b.slots) + p_demand[3] <= q.slots AND sum(b.gpus) + p_demand[4] <= q.gpus
        INTO v_sums, v_fits
        FROM organisation_quotas q
        CROSS JOIN generate_series(0, 16) AS probe(length_class)
""",
        """        SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)] INTO v_sums
        FROM generate_series(0, 16) AS probe(length_class)
""",
    ),
    (
        """        WHERE q.organisation_id = p_owner
          AND b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
        GROUP BY q.organisation_id;
        IF NOT FOUND THEN
            RETURN;  -- none of the owner's bookings overlaps the window
        END IF;
        IF v_fits THEN
""",
        f"""        WHERE b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before);
        IF v_sums[1] IS NULL THEN
            RETURN;  -- none of the owner's bookings overlaps the window
        END IF;
        IF {_FITS} THEN
""",
    ),
    (
        """                RETURN QUERY
                    SELECT 1::smallint,
                           NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::jsonb,
                           NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                           NULL::jsonb, NULL::jsonb, NULL::double precision,
                           NULL::boolean, NULL::integer, NULL::integer,
                           NULL::boolean, NULL::boolean, NULL::integer, NULL::varchar,
                           NULL::timestamptz, NULL::timestamptz, NULL::text,
                           NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
                           NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                           ''::varchar, v_range, ''::varchar, ''::varchar, p_start, p_end,
                           v_sums[1]::integer, v_sums[2]::integer, v_sums[3]::integer, v_sums[4]::integer,
                           NULL::timestamptz;
""",
        """                kind := 1; o_id := ''; o_range_id := v_range; o_owner_organisation_id := '';
                o_owner_country := ''; o_start := p_start; o_end := p_end;
                o_cpu_millicores := v_sums[1]; o_memory_mib := v_sums[2]; o_slots := v_sums[3]; o_gpus := v_sums[4];
                RETURN NEXT;
""",
    ),
    (
        """            RETURN QUERY
                SELECT 2::smallint,
                       NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::jsonb,
                       NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                       NULL::jsonb, NULL::jsonb, NULL::double precision,
                       NULL::boolean, NULL::integer, NULL::integer,
                       NULL::boolean, NULL::boolean, NULL::integer, NULL::varchar,
                       NULL::timestamptz, NULL::timestamptz, NULL::text,
                       NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar, NULL::timestamptz,
                       NULL::integer, NULL::integer, NULL::integer, NULL::integer,
                       ''::varchar, ''::varchar, p_owner, ''::varchar, p_start, p_end,
                       v_sums[1]::integer, v_sums[2]::integer, v_sums[3]::integer, v_sums[4]::integer,
                       NULL::timestamptz;
""",
        """            kind := 2; o_id := ''; o_range_id := ''; o_owner_organisation_id := p_owner;
            o_owner_country := ''; o_start := p_start; o_end := p_end;
            o_cpu_millicores := v_sums[1]; o_memory_mib := v_sums[2]; o_slots := v_sums[3]; o_gpus := v_sums[4];
            RETURN NEXT;
""",
    ),
)


def _version(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old() -> dict[str, str]:
    """0018's read and peek (its check and try call them and stay)."""
    functions: dict[str, str] = _version("0018_summed_calendars")._new()
    return {name: functions[name] for name in ("peek", "read")}


def _new() -> dict[str, str]:
    new = {}
    for name, function in _old().items():
        text = function
        for old, changed in CHANGES:
            assert text.count(old) == 1, (name, old[:60])
            text = text.replace(old, changed)
        new[name] = text
    return new


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("peek", "read"):  # same arguments: replaced in place, the callers keep calling them
            op.execute(_new()[name])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("peek", "read"):
            op.execute(_old()[name])
