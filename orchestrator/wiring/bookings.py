"""The exercise lifecycle's BookingPort over the booking engine (inside the caller's unit of work)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from connectors.base import Resources
from orchestrator.booking.occupancy import free_for_owner
from orchestrator.booking.ports import BookingStore
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.booking.service import BookingService
from orchestrator.domain.bookings import Purpose
from orchestrator.exercises.ports import FreeCapacity
from orchestrator.identity.principals import SYSTEM, Principal


class EngineBookings:
    def __init__(self, service: BookingService, store: BookingStore) -> None:
        self.service = service
        self.store = store

    def free_for(
        self,
        *,
        range_ids: Sequence[str],
        start: datetime,
        end: datetime,
        owner_organisation_id: str,
        owner_country: str,
    ) -> Mapping[str, FreeCapacity]:
        occupancy = self.service.occupancy(range_ids, start=start, end=end)
        out = {}
        for snapshot in self.store.range_snapshots(list(range_ids)):
            if snapshot.id not in occupancy:
                continue
            free = free_for_owner(
                snapshot,
                occupancy[snapshot.id],
                organisation_id=owner_organisation_id,
                country=owner_country,
                start=start,
                end=end,
            )
            out[snapshot.id] = FreeCapacity(free=free.free, at=free.at)
        return out

    def book(
        self,
        actor: Principal,
        *,
        owner_organisation_id: str,
        items: Sequence[tuple[str, Resources]],
        start: datetime,
        end: datetime,
        purpose: str,
        reference: str,
        request_id: str,
    ) -> list[str]:
        result = self.service.create_request(
            actor,
            BookingRequest(
                items=[BookingItem(range_ref=r, demand=d) for r, d in items],
                start=start,
                end=end,
                purpose=Purpose(purpose),
                reference=reference,
                hold=False,
                request_id=request_id,
            ),
            owner_organisation_id=owner_organisation_id,
        )
        by_range = {b.range_id: b.id for b in result.bookings}
        return [by_range[r] for r, _ in items]

    def status(self, booking_ids: Sequence[str]) -> Mapping[str, str]:
        out = {}
        for booking_id in booking_ids:
            booking = self.store.get_booking(booking_id)
            if booking is not None:
                out[booking_id] = booking.status.value
        return out

    def activate(self, booking_ids: Sequence[str]) -> None:
        for booking_id in booking_ids:
            self.service.activate(SYSTEM, Selection.booking(booking_id))

    def release(self, booking_ids: Sequence[str]) -> None:
        for booking_id in booking_ids:
            self.service.release(SYSTEM, Selection.booking(booking_id))

    def cancel(self, actor: Principal, booking_ids: Sequence[str], *, reason: str) -> None:
        for booking_id in booking_ids:
            self.service.cancel(actor, Selection.booking(booking_id), reason=reason)

    def renew(self, actor: Principal, booking_ids: Sequence[str], *, end: datetime) -> None:
        for booking_id in booking_ids:
            self.service.renew(actor, Selection.booking(booking_id), end=end)

    def reduce(self, actor: Principal, booking_id: str, *, demand: Resources, reason: str) -> None:
        self.service.reduce(actor, booking_id, demand=demand, reason=reason)
