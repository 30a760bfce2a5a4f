"""The SQL booking store keeps the BookingStore contract on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from orchestrator.booking.ports import BookingStore, CalendarRead
from orchestrator.db.calendar_sql import (
    ADMISSION_COLUMNS,
    ADMISSION_FUNCTION,
    ADMISSION_READ,
    CHECK_FUNCTION,
    LOCKS_FUNCTION,
    PEEK_FUNCTION,
    TRY_FUNCTION,
)
from orchestrator.wiring import Services
from tests.integration.booking.seed import seed
from tests.unit.booking.store_contract import check_contract


def test_sql_store_keeps_the_contract(services: Services) -> None:
    with services.uow() as uow:
        seed(uow)
        uow.bookings.delete_quota("ee-school")

    @contextmanager
    def open_store() -> Iterator[BookingStore]:
        with services.uow() as uow:
            yield uow.bookings

    def audit_actions() -> list[str]:
        with services.uow() as uow:
            events, _ = uow.catalogue.list_audit(
                organisation_id=None, object_id=None, action=None, limit=100, offset=0
            )
        return [e.action for e in events]

    check_contract(open_store, audit_actions)


def test_the_admission_function_returns_the_columns_the_store_reads(services: Services) -> None:
    """PostgreSQL: the admission function and `calendar_sql.ADMISSION_COLUMNS` name the same columns in
    the same order (the store reads its rows by position and by these names)."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission function exists on PostgreSQL only; SQLite runs the statements one by one")
    with services.uow() as uow:
        seed(uow)
    with services.engine.connect() as connection:
        no_calendar = {"start": None, "end": None, "not_before": None, "demand": None}
        found = connection.execute(ADMISSION_READ, {"refs": ["ee-range"], "owner": "", **no_calendar})
        assert tuple(found.keys()) == ADMISSION_COLUMNS
        assert [row.slug for row in found] == ["ee-range"]


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("federange_admission_read", ADMISSION_FUNCTION),
        ("federange_admission_peek", PEEK_FUNCTION),
        ("federange_admission_check", CHECK_FUNCTION),
        ("federange_admission_try", TRY_FUNCTION),
        ("federange_admission_locks", LOCKS_FUNCTION),
    ],
)
def test_the_database_runs_the_admission_functions_of_calendar_sql(
    services: Services, name: str, function: str
) -> None:
    """PostgreSQL: each function the migrations installed is calendar_sql's text, exactly (signature,
    columns, settings and body, as PostgreSQL prints them back), so the live text beside the other
    calendar variants is the one that runs. Changing one takes a migration with the new text."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission functions exist on PostgreSQL only")
    definition = text(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.proname = :name AND n.nspname = :schema"
    )
    with services.engine.connect() as connection:
        installed = connection.execute(definition, {"name": name, "schema": "public"}).scalar_one()
        connection.execute(text("CREATE SCHEMA live_text"))
        connection.execute(text("SET LOCAL search_path TO live_text"))
        connection.execute(text(PEEK_FUNCTION))  # the check calls it (resolved when it runs)
        connection.execute(text(function))
        live = connection.execute(definition, {"name": name, "schema": "live_text"}).scalar_one()
        connection.rollback()
    assert live.replace("live_text.", "public.") == installed


def test_on_postgresql_the_admission_call_locks_the_quota_and_reads_the_owners_calendar(
    services: Services,
) -> None:
    """PostgreSQL: for an owner with a quota the admission call takes the quota's row lock (after the
    ranges') and returns the owner's calendar, so an admission makes no more round trips for them while it
    holds the range locks; without a quota, or without a calendar asked for, there is nothing to read."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission function exists on PostgreSQL only")
    start = datetime(2030, 1, 1, tzinfo=UTC)
    window = CalendarRead(start=start, end=start + timedelta(hours=2), not_before=start)
    with services.uow() as uow:
        seed(uow)
    lock_quota = text(
        "SELECT 1 FROM organisation_quotas WHERE organisation_id = 'ee-school' FOR UPDATE NOWAIT"
    )
    with services.uow() as uow:
        locked = uow.bookings.lock_ranges(["ee-range"], owner_organisation_id="ee-school", calendar=window)
        assert locked.quota is not None and locked.quota_locked
        assert locked.owned == []
        with (
            services.engine.connect() as other,
            pytest.raises(OperationalError, match="could not obtain lock"),
        ):
            other.execute(lock_quota)
    with services.engine.connect() as other:  # released with the unit of work
        assert other.execute(lock_quota).scalar_one() == 1
        other.rollback()
    with services.uow() as uow:
        assert uow.bookings.lock_ranges(["ee-range"], owner_organisation_id="ee-school").owned is None
        uow.bookings.delete_quota("ee-school")
        bare = uow.bookings.lock_ranges(["ee-range"], owner_organisation_id="ee-school", calendar=window)
        assert bare.quota is None and bare.owned is None
