"""The SQL booking store keeps the BookingStore contract on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.booking.ports import BookingStore
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
