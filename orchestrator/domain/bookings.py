"""Booking values: a reservation of capacity on one range for [start, end), and its state machine.

A booking is one item of a booking *request*: a request reserves capacity on one or several ranges for
the same window, all or nothing, and its bookings share a `request_id` (the client's idempotency key
when one is given).

States:

    HELD ──confirm──> CONFIRMED ──activate──> ACTIVE ──release──> RELEASED
     │  └─(hold TTL)─> EXPIRED       │  └──release──> RELEASED
     └──cancel──> CANCELLED <────────┘
    PENDING_APPROVAL ──approve──> CONFIRMED
                     ──decline──> REJECTED
                     ──cancel───> CANCELLED

A HELD booking occupies capacity only until `hold_expires_at`; past it, admission ignores it at once and a
periodic job marks it EXPIRED. PENDING_APPROVAL bookings occupy capacity while the range's operator decides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from connectors.base import Resources
from orchestrator.domain.states import StateMachine


class BookingStatus(enum.StrEnum):
    HELD = "held"
    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    ACTIVE = "active"
    RELEASED = "released"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class Purpose(enum.StrEnum):
    EXERCISE = "exercise"
    ENVIRONMENT = "environment"
    POOL = "pool"
    MANUAL = "manual"


S = BookingStatus

#: The statuses whose bookings take capacity (a HELD booking only until its hold expires).
OCCUPYING: frozenset[BookingStatus] = frozenset({S.HELD, S.PENDING_APPROVAL, S.CONFIRMED, S.ACTIVE})

BOOKING_STATES = StateMachine(
    kind="booking",
    table={
        S.HELD: frozenset({S.CONFIRMED, S.CANCELLED, S.EXPIRED}),
        S.PENDING_APPROVAL: frozenset({S.CONFIRMED, S.REJECTED, S.CANCELLED}),
        S.CONFIRMED: frozenset({S.ACTIVE, S.RELEASED, S.CANCELLED}),
        S.ACTIVE: frozenset({S.RELEASED}),
    },
)


@dataclass(frozen=True, kw_only=True)
class Booking:
    """One range's share of a booking request. `owner_country` is the owner's country at booking time
    (it decides whether the booking counts against the range's foreign share)."""

    id: str
    request_id: str
    range_id: str
    range_slug: str
    owner_organisation_id: str
    owner_country: str
    created_by: str
    purpose: Purpose
    reference: str | None
    start: datetime
    end: datetime
    demand: Resources
    status: BookingStatus
    status_reason: str
    hold_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def occupies(self, now: datetime) -> bool:
        """Whether this booking takes capacity as seen at `now` (an expired hold does not)."""
        if self.status not in OCCUPYING:
            return False
        if self.status is BookingStatus.HELD:
            return self.hold_expires_at is None or self.hold_expires_at > now
        return True

    def occupant(self) -> Occupant:
        return Occupant(
            booking_id=self.id,
            range_id=self.range_id,
            owner_organisation_id=self.owner_organisation_id,
            owner_country=self.owner_country,
            start=self.start,
            end=self.end,
            demand=self.demand,
            hold_expires_at=self.hold_expires_at if self.status is BookingStatus.HELD else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Occupant:
    """What admission needs of a booking that takes capacity: when, how much, and whose (the owner's
    country decides whether it counts against a range's foreign share). `hold_expires_at` is set for a
    HELD booking only: from that instant on it no longer takes capacity."""

    booking_id: str
    range_id: str
    owner_organisation_id: str
    owner_country: str
    start: datetime
    end: datetime
    demand: Resources
    hold_expires_at: datetime | None = None

    def occupies(self, now: datetime) -> bool:
        """Whether it still takes capacity as seen at `now` (a hold stops at its expiry)."""
        return self.hold_expires_at is None or self.hold_expires_at > now


@dataclass(frozen=True, kw_only=True)
class Quota:
    """An organisation's ceiling on capacity held at once, summed over all ranges."""

    organisation_id: str
    limit: Resources
