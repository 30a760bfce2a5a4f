"""Seed the scenario's organisations, ranges and quotas straight into a database (no HTTP)."""

from __future__ import annotations

from connectors.base import Resources
from orchestrator.db.uow import UnitOfWork
from orchestrator.domain.bookings import Quota
from orchestrator.domain.catalogue import ConnectorSettings, MaintenanceRecord, RangeRecord
from orchestrator.domain.ranges import RangeSnapshot
from tests.unit.booking.scenario import QUOTAS, RANGES, T0, organisations, snapshot


def record(s: RangeSnapshot) -> RangeRecord:
    return RangeRecord(
        id=s.id,
        slug=s.slug,
        name=s.slug,
        description="",
        operator_organisation_id=s.operator_organisation,
        country=s.country,
        capabilities=s.capabilities,
        capacity=s.capacity,
        policy=s.policy,
        status=s.status,
        preference=s.preference,
        connector=ConnectorSettings(kind="fake"),
        created_at=T0,
        updated_at=T0,
    )


def seed(uow: UnitOfWork) -> None:
    for org in organisations():
        uow.catalogue.add_organisation(org)
    for r in RANGES:
        s = snapshot(r)
        uow.catalogue.add_range(record(s))
        for n, window in enumerate(s.maintenance):
            uow.catalogue.add_maintenance(MaintenanceRecord(id=f"{s.id}-m{n}", range_id=s.id, window=window))
    for org, limit in QUOTAS.items():
        uow.bookings.put_quota(Quota(organisation_id=org, limit=Resources(*limit)))
