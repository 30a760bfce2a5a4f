"""Plain views of bookings for audit events (before/after)."""

from __future__ import annotations

from typing import Any

from orchestrator.domain.bookings import Booking


def booking_view(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "request_id": booking.request_id,
        "range_id": booking.range_id,
        "range": booking.range_slug,
        "owner_organisation_id": booking.owner_organisation_id,
        "purpose": booking.purpose.value,
        "reference": booking.reference,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "demand": booking.demand.as_dict(),
        "status": booking.status.value,
        "status_reason": booking.status_reason,
        "hold_expires_at": booking.hold_expires_at.isoformat() if booking.hold_expires_at else None,
    }
