"""admission: the range rows shared, and one lock per range and UTC day the window touches

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:30:00

`federange_admission_locks` takes an admission's locks: the range rows FOR SHARE in id order, then one
transaction-scoped advisory lock per (range, UTC day) the window touches, in key order, then the owner's
quota row FOR UPDATE. Admissions on one range whose windows share no day no longer queue behind each
other; two windows that overlap share a day and queue on its lock. A capacity, policy or maintenance
change still waits for the admissions in flight (it updates or locks the range row), and a call without
a window (confirmations, renewals) or with one touching more than 31 days locks the range rows FOR
UPDATE, as every admission did before. `federange_admission_read`, `_check` and `_try` (0015's and
0016's) now take their locks through it; their signatures and columns are unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

LOCKS_FUNCTION = r"""CREATE OR REPLACE FUNCTION federange_admission_locks(
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
    IF p_start IS NULL OR v_last - v_first >= 31 THEN
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
#: What 0015's read and 0016's check take their locks with, and what they take them with now.
NEW_LOCKS = """    PERFORM federange_admission_locks(p_refs, p_owner, p_start, p_end, true);
    -- Every statement from here on reads a snapshot taken after the locks were granted.
"""
OLD_TRY_LOCKS = """    PERFORM 1 FROM ranges r WHERE r.id = ANY(p_refs) OR r.slug = ANY(p_refs) ORDER BY r.id
        FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        PERFORM 1 FROM organisation_quotas q WHERE q.organisation_id = p_owner FOR UPDATE;
        -- A snapshot taken after the locks were granted."""
NEW_TRY_LOCKS = """    IF federange_admission_locks(p_refs, p_owner, p_start, p_end, false) THEN
        -- A snapshot taken after the locks were granted."""


def _version(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(*, new: bool) -> list[str]:
    """0015's read and 0016's check and try, with their locks as they were or as they are now."""
    v0015, v0016 = _version("0015_admission_quota"), _version("0016_optimistic_admission")
    texts = [str(v0015.FUNCTION), str(v0016.CHECK), v0016._try()]
    if not new:
        return texts
    assert all(v0016.LOCKS in t for t in texts[:2]) and OLD_TRY_LOCKS in texts[2]
    return [
        texts[0].replace(v0016.LOCKS, NEW_LOCKS),
        texts[1].replace(v0016.LOCKS, NEW_LOCKS),
        texts[2].replace(OLD_TRY_LOCKS, NEW_TRY_LOCKS),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOCKS_FUNCTION)
        for function in _functions(new=True):
            op.execute(function)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _functions(new=False):
            op.execute(function)
        op.execute(
            "DROP FUNCTION federange_admission_locks(varchar[], varchar, timestamptz, timestamptz, boolean)"
        )
