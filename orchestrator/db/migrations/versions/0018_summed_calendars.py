"""admission: a calendar that fits its one-range request whole comes summed, not booking by booking

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:00:00

The admission functions (`federange_admission_read`, `_peek`, `_try`, `_check`) take the request's
demand as a last argument, `p_demand` (cpu, memory, slots, gpus; NULL for a request of several ranges).
When that demand fits a range even if every booking overlapping the window ran at the same instant, with
no maintenance in the window and no foreign share limit for the owner, the range's calendar comes back
as one aggregate occupant over the whole window (booking id '', owner country '', so counted as foreign
too): an upper bound of the range's use, and of its foreign use, at every instant. Likewise
the owner's calendar, when the owner's bookings and the demand fit its quota even all at once. Otherwise
the rows are the bookings one by one, as before. An admission on a busy range reads one row where it
read one per live booking. 0017's functions take five arguments (the check six); they are dropped.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: The read's and the peek's: each range's loop now starts with the summed calendar, and the owner's
#: calendar is preceded by its own; the statements reading the bookings one by one stay as they were.
LOOP = """    FOR v_range IN SELECT r.id FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
    LOOP
"""
SUMMED_RANGE = r"""        -- Given `p_demand` (a request of one range): when that demand fits even if every booking
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
            CROSS JOIN LATERAL (
                SELECT bk."end", bk.cpu_millicores, bk.memory_mib, bk.slots, bk.gpus, bk.status,
                       bk.hold_expires_at
                FROM bookings bk
                WHERE bk.range_id = v_range
                  AND bk.status IN ('held', 'pending_approval', 'confirmed', 'active')
                  AND bk.length_class = probe.length_class
                  AND bk.start > p_start - interval '1 hour' * power(2, probe.length_class)
                  AND bk.start < p_end
                ORDER BY bk.start
                OFFSET 0
            ) AS b
            WHERE r.id = v_range
              AND b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
            GROUP BY r.id;
            IF NOT FOUND THEN
                CONTINUE;  -- no booking overlaps the window
            END IF;
            IF v_fits THEN
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
                           ''::varchar, v_range, ''::varchar, ''::varchar, p_start, p_end,
                           v_sums[1]::integer, v_sums[2]::integer, v_sums[3]::integer, v_sums[4]::integer,
                           NULL::timestamptz;
                CONTINUE;
            END IF;
        END IF;
"""
OLD_DECLARE = "DECLARE\n    v_range varchar;\nBEGIN"
NEW_DECLARE = "DECLARE\n    v_range varchar;\n    v_sums bigint[];\n    v_fits boolean;\nBEGIN"
OWNER_CALENDAR = "    -- The owner's calendar on every range, as PG_CALENDAR's owner variant reads it, over\n"
SUMMED_OWNER = r"""    -- Given `p_demand`, when the owner's bookings and the demand fit its quota even all at once, one
    -- aggregate occupant over the window (booking and range id ''), as for the ranges above.
    IF p_demand IS NOT NULL THEN
        SELECT ARRAY[sum(b.cpu_millicores), sum(b.memory_mib), sum(b.slots), sum(b.gpus)],
               sum(b.cpu_millicores) + p_demand[1] <= q.cpu_millicores
               AND sum(b.memory_mib) + p_demand[2] <= q.memory_mib
               AND sum(b.slots) + p_demand[3] <= q.slots AND sum(b.gpus) + p_demand[4] <= q.gpus
        INTO v_sums, v_fits
        FROM organisation_quotas q
        CROSS JOIN generate_series(0, 16) AS probe(length_class)
        CROSS JOIN LATERAL (
            SELECT bk."end", bk.cpu_millicores, bk.memory_mib, bk.slots, bk.gpus, bk.status,
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
        WHERE q.organisation_id = p_owner
          AND b."end" > p_start AND (b.status <> 'held' OR b.hold_expires_at > p_not_before)
        GROUP BY q.organisation_id;
        IF NOT FOUND THEN
            RETURN;  -- none of the owner's bookings overlaps the window
        END IF;
        IF v_fits THEN
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
                       ''::varchar, ''::varchar, p_owner, ''::varchar, p_start, p_end,
                       v_sums[1]::integer, v_sums[2]::integer, v_sums[3]::integer, v_sums[4]::integer,
                       NULL::timestamptz;
            RETURN;
        END IF;
    END IF;
"""
OLD_SIGNATURE = "p_not_before timestamptz\n) RETURNS"
NEW_SIGNATURE = "p_not_before timestamptz,\n    p_demand integer[]\n) RETURNS"
OLD_PEEK_CALL = "federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before)"
NEW_PEEK_CALL = "federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before, p_demand)"
ARGUMENTS = "varchar[], varchar, timestamptz, timestamptz, timestamptz"


def _version(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old() -> dict[str, str]:
    """0017's functions: its read, check and try, and 0016's peek (0017 left it as it was)."""
    read, check, try_ = _version("0017_day_locks")._functions(new=True)
    return {"peek": _version("0016_optimistic_admission")._peek(), "read": read, "check": check, "try": try_}


def _calendars(function: str) -> str:
    """The read (or the peek) with the summed calendars before the bookings one by one."""
    assert function.count(LOOP) == function.count(OWNER_CALENDAR) == function.count(OLD_DECLARE) == 1
    return (
        function.replace(OLD_DECLARE, NEW_DECLARE)
        .replace(LOOP, LOOP + SUMMED_RANGE)
        .replace(OWNER_CALENDAR, SUMMED_OWNER + OWNER_CALENDAR)
    )


def _new() -> dict[str, str]:
    old = _old()
    assert all(OLD_SIGNATURE in old[name] for name in ("peek", "read", "try"))
    assert old["check"].count("p_not_before timestamptz,\n    p_digest text\n)") == 1
    assert old["try"].count(OLD_PEEK_CALL) == 2 and old["check"].count(f"{OLD_PEEK_CALL} WITH") == 1
    new = {name: _calendars(old[name]).replace(OLD_SIGNATURE, NEW_SIGNATURE) for name in ("peek", "read")}
    new["check"] = (
        old["check"]
        .replace(
            "p_not_before timestamptz,\n    p_digest text\n)",
            "p_not_before timestamptz,\n    p_demand integer[], p_digest text\n)",
        )
        .replace(f"{OLD_PEEK_CALL} WITH", f"{NEW_PEEK_CALL}\n             WITH")
    )
    new["try"] = old["try"].replace(OLD_SIGNATURE, NEW_SIGNATURE).replace(OLD_PEEK_CALL, NEW_PEEK_CALL)
    return new


def _drop(*, new: bool) -> None:
    extra = ", integer[]" if new else ""
    op.execute(f"DROP FUNCTION federange_admission_try({ARGUMENTS}{extra})")
    op.execute(f"DROP FUNCTION federange_admission_check({ARGUMENTS}{extra}, text)")
    op.execute(f"DROP FUNCTION federange_admission_read({ARGUMENTS}{extra})")
    op.execute(f"DROP FUNCTION federange_admission_peek({ARGUMENTS}{extra})")


def _create(functions: dict[str, str]) -> None:
    for name in ("peek", "read", "check", "try"):
        op.execute(functions[name])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        functions = _new()
        _drop(new=False)
        _create(functions)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop(new=True)
        _create(_old())
