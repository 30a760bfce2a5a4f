"""The SQL booking store keeps the BookingStore contract on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from orchestrator.booking.ports import BookingStore
from orchestrator.db.calendar_sql import ADMISSION_COLUMNS, ADMISSION_FUNCTION, ADMISSION_READ
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
        no_calendar = {"start": None, "end": None, "not_before": None}
        found = connection.execute(ADMISSION_READ, {"refs": ["ee-range"], "owner": "", **no_calendar})
        assert tuple(found.keys()) == ADMISSION_COLUMNS
        assert [row.slug for row in found] == ["ee-range"]


def test_the_database_runs_the_admission_function_of_calendar_sql(services: Services) -> None:
    """PostgreSQL: the function the migrations installed is `calendar_sql.ADMISSION_FUNCTION`, exactly
    (signature, columns, settings and body, as PostgreSQL prints them back), so the live text beside the
    other calendar variants is the one that runs. Changing it takes a migration with the new text."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission function exists on PostgreSQL only")
    definition = text(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.proname = 'federange_admission_read' AND n.nspname = :schema"
    )
    with services.engine.connect() as connection:
        installed = connection.execute(definition, {"schema": "public"}).scalar_one()
        connection.execute(text("CREATE SCHEMA live_text"))
        connection.execute(text("SET LOCAL search_path TO live_text"))
        connection.execute(text(ADMISSION_FUNCTION))
        live = connection.execute(definition, {"schema": "live_text"}).scalar_one()
        connection.rollback()
    assert live.replace("live_text.", "public.") == installed
