"""The SQL booking store keeps the BookingStore contract on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orchestrator.booking.ports import BookingStore
from orchestrator.db.booking_sql import ADMISSION_COLUMNS, ADMISSION_READ
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
    """PostgreSQL: migration 0006's function and `booking_sql.ADMISSION_COLUMNS` name the same columns
    in the same order (the store reads its rows by position and by these names)."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the admission function exists on PostgreSQL only; SQLite runs the statements one by one")
    with services.uow() as uow:
        seed(uow)
    with services.engine.connect() as connection:
        no_calendar = {"start": None, "end": None, "not_before": None}
        found = connection.execute(ADMISSION_READ, {"refs": ["ee-range"], "owner": "", **no_calendar})
        assert tuple(found.keys()) == ADMISSION_COLUMNS
        assert [row.slug for row in found] == ["ee-range"]
