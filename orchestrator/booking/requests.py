"""Inputs and results of the booking use cases, already parsed at the edge."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.base import Resources
from orchestrator.booking.lengths import MAX_BOOKING_LENGTH
from orchestrator.booking.policy import describe
from orchestrator.domain.bookings import Booking, Purpose
from orchestrator.domain.errors import FieldProblem

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class BookingItem:
    """Demand on one range, named by id or slug."""

    range_ref: str
    demand: Resources


@dataclass(frozen=True, kw_only=True)
class BookingRequest:
    """Capacity on one or several ranges for the same window, all or nothing.

    `hold=True` creates short-lived holds to confirm later (GENI-style allocate, then provision);
    `hold=False` confirms at once; `active=True` (with `hold=False`, starting now at the latest) admits
    bookings that are ACTIVE at once, for capacity already in use (a claimed pooled instance: there is
    no deploy to come that would activate them). `request_id` is the client's idempotency key: a request
    repeated with the same key returns the bookings made the first time instead of booking twice;
    `new_request` says the caller made that key just now (the id of an exercise it is creating), so no
    earlier request can have it and the engine does not look. `reference` links the bookings to what
    they are for (an exercise or environment id).
    """

    items: Sequence[BookingItem]
    start: datetime
    end: datetime
    purpose: Purpose = Purpose.MANUAL
    reference: str | None = None
    hold: bool = True
    active: bool = False
    request_id: str | None = None
    new_request: bool = False

    def problems(self) -> list[FieldProblem]:
        """What is wrong with the request regardless of the calendar (the field and the reason)."""
        found: list[FieldProblem] = []
        if not self.items:
            found.append(FieldProblem("items", "name at least one range and its demand"))
        if self.end <= self.start:
            found.append(FieldProblem("end", f"must be after start ({self.start.isoformat()})"))
        elif self.end - self.start > MAX_BOOKING_LENGTH:
            found.append(FieldProblem("end", f"a booking lasts at most {describe(MAX_BOOKING_LENGTH)}"))
        if self.active and self.hold:
            found.append(FieldProblem("active", "a hold is confirmed later: it cannot be active at once"))
        seen: dict[str, int] = {}
        for i, item in enumerate(self.items):
            if item.range_ref in seen:
                found.append(
                    FieldProblem(
                        f"items[{i}].range",
                        f"range '{item.range_ref}' is already items[{seen[item.range_ref]}]; "
                        "put its whole demand in one item",
                    )
                )
            seen.setdefault(item.range_ref, i)
            found.extend(demand_problems(item.demand, f"items[{i}].demand"))
        if self.request_id is not None and not REQUEST_ID_RE.fullmatch(self.request_id):
            found.append(
                FieldProblem(
                    "request_id",
                    "1 to 64 characters: letters, digits, '.', '_', ':' or '-', "
                    "starting with a letter or digit",
                )
            )
        if self.reference is not None and not 0 < len(self.reference) <= 64:
            found.append(FieldProblem("reference", "1 to 64 characters"))
        return found


def demand_problems(demand: Resources, field: str) -> list[FieldProblem]:
    found = [FieldProblem(f"{field}.{d}", "must not be negative") for d, v in demand.items() if v < 0]
    if not found and all(v == 0 for _, v in demand.items()):
        found.append(FieldProblem(field, "asks for nothing; give at least one positive dimension"))
    return found


@dataclass(frozen=True, kw_only=True)
class RequestResult:
    """The bookings of a request; `replayed` is True when an idempotent repeat returned earlier ones."""

    request_id: str
    bookings: Sequence[Booking]
    replayed: bool = False
