"""admission: a read without the locks and a check under them (the optimistic one-range admission)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 06:30:00

`federange_admission_peek` is 0015's `federange_admission_read` without its locks, STABLE (so all its
reads share one snapshot). `federange_admission_try` does not wait for a range lock another transaction
holds: when the range's lock is free it locks and reads as the admission read does; when it is held it
peeks and returns the digest of what it read. `federange_admission_check` takes the locks the read would
take, in the same order, reads the peek again and raises SQLSTATE YF001 unless its rows are the same as the digest given:
an admission that found the lock held reads and decides without it, then sends the check, its INSERT
and the COMMIT in one round trip, and holds the range lock only while the server runs those three.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LOCKS = """    -- The locks, in id order (two admissions over overlapping sets of ranges queue, never deadlock), then
    -- the owner's quota (always after the ranges: two admissions of one organisation on different ranges
    -- cannot both use the last of it).
    PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id FOR UPDATE;
    PERFORM 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner FOR UPDATE;
    -- Every statement from here on reads a snapshot taken after the locks were granted.
"""

CHECK = f"""CREATE OR REPLACE FUNCTION federange_admission_check(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz,
    p_digest text
) RETURNS void LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
{LOCKS}    -- The peek called here therefore reads what the locked admission read would; the decision
    -- taken on the earlier peek stands only if that is the same, row for row.
    IF (SELECT md5(string_agg(f::text, ',' ORDER BY f.ordinality))
        FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before) WITH ORDINALITY AS f)
       IS DISTINCT FROM p_digest THEN
        RAISE EXCEPTION 'the calendar changed after the admission read it'
            USING ERRCODE = 'YF001';
    END IF;
END
$fn$
"""


TRY = r"""CREATE OR REPLACE FUNCTION federange_admission_try(
    p_refs varchar[], p_owner varchar, p_start timestamptz, p_end timestamptz, p_not_before timestamptz
) RETURNS TABLE (
__COLUMNS__,
    digest text
) LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
        FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        PERFORM 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner FOR UPDATE;
        -- A snapshot taken after the locks were granted.
        RETURN QUERY SELECT f.*, NULL::text
            FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before) AS f;
        RETURN;
    END IF;
    RETURN QUERY
        WITH f AS MATERIALIZED (
            SELECT * FROM federange_admission_peek(p_refs, p_owner, p_start, p_end, p_not_before)
                WITH ORDINALITY
        )
        SELECT __PEEKED__, (SELECT md5(string_agg(f::text, ',' ORDER BY f.ordinality)) FROM f) FROM f ORDER BY f.ordinality;
END
$fn$
"""


def _read_of_0015() -> str:
    spec = importlib.util.spec_from_file_location(
        "v0015", Path(__file__).with_name("0015_admission_quota.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def _try() -> str:
    """TRY with 0015's columns: as the read returns them, then the digest."""
    columns = _read_of_0015().split("RETURNS TABLE (\n", 1)[1].split("\n) LANGUAGE", 1)[0]
    names = [part.split()[0] for part in columns.split(",")]
    return TRY.replace("__COLUMNS__", columns).replace(
        "__PEEKED__", ",\n               ".join(f"f.{n}" for n in names)
    )


def _peek() -> str:
    """0015's admission read, renamed, STABLE, without its locks."""
    read = _read_of_0015()
    assert LOCKS in read
    return (
        read.replace("FUNCTION federange_admission_read(", "FUNCTION federange_admission_peek(")
        .replace("LANGUAGE plpgsql VOLATILE", "LANGUAGE plpgsql STABLE")
        .replace(
            LOCKS, "    -- No locks here, and every read on the calling statement's snapshot (STABLE).\n"
        )
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_peek())
        op.execute(CHECK)
        op.execute(_try())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION federange_admission_try(varchar[], varchar, timestamptz, timestamptz, timestamptz)"
        )
        op.execute(
            "DROP FUNCTION federange_admission_check(varchar[], varchar, timestamptz, timestamptz,"
            " timestamptz, text)"
        )
        op.execute(
            "DROP FUNCTION federange_admission_peek(varchar[], varchar, timestamptz, timestamptz,"
            " timestamptz)"
        )
