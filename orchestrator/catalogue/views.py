"""Secret-free views of catalogue objects, used for audit before/after and never holding secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrator.domain.catalogue import RangeRecord


def minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


def range_view(record: RangeRecord) -> dict[str, Any]:
    policy = record.policy
    return {
        "id": record.id,
        "slug": record.slug,
        "name": record.name,
        "description": record.description,
        "operator_organisation_id": record.operator_organisation_id,
        "country": record.country,
        "capabilities": sorted(record.capabilities),
        "capacity": record.capacity.as_dict(),
        "policy": {
            "allowed_countries": sorted(policy.allowed_countries),
            "allowed_organisations": sorted(policy.allowed_organisations),
            "max_foreign_share": policy.max_foreign_share,
            "approval_required": policy.approval_required,
            "max_booking_minutes": minutes(policy.max_booking_length),
            "min_lead_minutes": minutes(policy.min_lead_time),
            "allow_privileged": policy.allow_privileged,
            "researcher_bookings": policy.researcher_bookings,
            "require_image_digests": policy.require_image_digests,
        },
        "status": record.status.value,
        "preference": record.preference,
        "connector": {
            "kind": record.connector.kind,
            "config": dict(record.connector.config),
            "secret_fields": record.connector.secret_fields,
        },
        "maintenance": [
            {
                "id": m.id,
                "start": m.window.start.isoformat(),
                "end": m.window.end.isoformat(),
                "reason": m.window.reason,
            }
            for m in record.maintenance
        ],
    }
