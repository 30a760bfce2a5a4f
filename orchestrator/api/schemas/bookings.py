"""Schemas for bookings, quotas and availability."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

from pydantic import BaseModel, Field, model_validator

from connectors.base import Resources
from orchestrator.api.schemas.catalogue import MAX_BOOKING_MINUTES, MAX_CPU, MAX_GPUS, MAX_MEMORY, MAX_SLOTS
from orchestrator.api.schemas.common import Capability, Country, Out, Ref, Schema, UtcDateTime
from orchestrator.booking.availability import Hit, Miss, SearchQuery, Timeline
from orchestrator.booking.requests import BookingItem, BookingRequest, RequestResult
from orchestrator.domain.bookings import Booking, BookingStatus, Purpose, Quota


class DemandIn(Schema):
    cpu_millicores: int = Field(
        default=0, ge=0, le=MAX_CPU, description="CPU in millicores (1000 = one core)"
    )
    memory_mib: int = Field(default=0, ge=0, le=MAX_MEMORY)
    slots: int = Field(default=0, ge=0, le=MAX_SLOTS, description="Team instances")
    gpus: int = Field(default=0, ge=0, le=MAX_GPUS)

    def to_domain(self) -> Resources:
        return Resources(self.cpu_millicores, self.memory_mib, self.slots, self.gpus)


class BookingItemIn(Schema):
    range: str = Field(min_length=1, max_length=64, description="Range id or slug", examples=["ee-range"])
    demand: DemandIn


class BookingCreateIn(Schema):
    """One range (`range` + `demand`) or several (`items`), all booked for the same window or none."""

    items: list[BookingItemIn] | None = Field(default=None, min_length=1, max_length=50)
    range: str | None = Field(default=None, max_length=64, description="Single-range shorthand for items")
    demand: DemandIn | None = None
    start: UtcDateTime
    end: UtcDateTime
    purpose: Purpose = Purpose.MANUAL
    reference: str | None = Field(default=None, max_length=64, description="What it is for (an exercise id)")
    hold: bool = Field(default=True, description="Hold (confirm within the hold TTL) or confirm at once")
    request_id: str | None = Field(
        default=None, description="Idempotency key: repeating a request with it returns the same bookings"
    )
    owner_organisation_id: str | None = Field(default=None, description="Admins book for others")

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        single = self.range is not None or self.demand is not None
        if self.items is not None and single:
            raise ValueError("give either items or range + demand, not both")
        if self.items is None and (self.range is None or self.demand is None):
            raise ValueError("give items, or range and demand")
        return self

    def to_domain(self, *, idempotency_key: str | None = None) -> BookingRequest:
        items = self.items or [BookingItemIn(range=self.range or "", demand=self.demand or DemandIn())]
        return BookingRequest(
            items=[BookingItem(range_ref=i.range, demand=i.demand.to_domain()) for i in items],
            start=self.start,
            end=self.end,
            purpose=self.purpose,
            reference=self.reference,
            hold=self.hold,
            request_id=self.request_id or idempotency_key,
        )


class BookingOut(Out):
    id: str
    request_id: str
    range_id: str
    range: str = Field(description="The range's slug")
    owner_organisation_id: str
    owner_country: str
    created_by: str
    purpose: Purpose
    reference: str | None
    start: datetime
    end: datetime
    demand: dict[str, int]
    status: BookingStatus
    status_reason: str
    hold_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, b: Booking) -> BookingOut:
        return cls.read(b, range=b.range_slug, demand=b.demand.as_dict())


class RequestOut(BaseModel):
    request_id: str
    replayed: bool = Field(description="True when an idempotent repeat returned the earlier bookings")
    bookings: list[BookingOut]

    @classmethod
    def from_domain(cls, result: RequestResult) -> RequestOut:
        return cls(
            request_id=result.request_id,
            replayed=result.replayed,
            bookings=[BookingOut.from_domain(b) for b in result.bookings],
        )

    @classmethod
    def of(cls, request_id: str, bookings: list[Booking]) -> RequestOut:
        return cls(
            request_id=request_id, replayed=False, bookings=[BookingOut.from_domain(b) for b in bookings]
        )


class RenewIn(Schema):
    end: UtcDateTime = Field(description="The new end: later to extend, earlier to shrink")


class ReasonIn(Schema):
    reason: str = Field(default="", max_length=500)


class QuotaOut(BaseModel):
    organisation_id: str
    limit: dict[str, int] | None = Field(description="None: the organisation has no quota")

    @classmethod
    def from_domain(cls, organisation_id: str, quota: Quota | None) -> QuotaOut:
        return cls(organisation_id=organisation_id, limit=None if quota is None else quota.limit.as_dict())


class SlotOut(Out):
    start: datetime
    end: datetime
    free: dict[str, int]
    free_for_organisation: dict[str, int]


class AvailabilityOut(BaseModel):
    range_id: str
    range: str
    capacity: dict[str, int]
    organisation_id: str | None
    slots: list[SlotOut]

    @classmethod
    def from_domain(cls, timeline: Timeline) -> AvailabilityOut:
        return cls(
            range_id=timeline.range.id,
            range=timeline.range.slug,
            capacity=timeline.range.capacity.as_dict(),
            organisation_id=None if timeline.owner is None else timeline.owner.organisation_id,
            slots=[
                SlotOut.read(s, free=s.free.as_dict(), free_for_organisation=s.free_for_owner.as_dict())
                for s in timeline.slots
            ],
        )


class SearchIn(Schema):
    demand: DemandIn
    duration_minutes: int = Field(gt=0, le=MAX_BOOKING_MINUTES)
    earliest_start: UtcDateTime
    latest_end: UtcDateTime
    ranges: list[Ref] = Field(
        default_factory=list, max_length=1000, description="Only these ranges (ids or slugs)"
    )
    capabilities: list[Capability] = Field(default_factory=list, max_length=64)
    country: Country | None = None
    organisation_id: Ref | None = Field(default=None, description="Search for another organisation (admins)")
    limit: int = Field(default=20, ge=1, le=500)

    def to_domain(self) -> SearchQuery:
        return SearchQuery(
            demand=self.demand.to_domain(),
            duration=timedelta(minutes=self.duration_minutes),
            earliest_start=self.earliest_start,
            latest_end=self.latest_end,
            ranges=self.ranges,
            capabilities=frozenset(self.capabilities),
            country=self.country,
            limit=self.limit,
        )


class HitOut(Out):
    range_id: str
    range: str
    country: str
    start: datetime
    end: datetime
    free: dict[str, int] = Field(description="Free for the organisation over the window (before booking)")

    @classmethod
    def from_domain(cls, hit: Hit) -> HitOut:
        return cls.read(
            hit,
            range_id=hit.range.id,
            range=hit.range.slug,
            country=hit.range.country,
            free=hit.free.as_dict(),
        )


class MissOut(BaseModel):
    range_id: str
    range: str
    reasons: list[str]

    @classmethod
    def from_domain(cls, miss: Miss) -> MissOut:
        return cls(range_id=miss.range.id, range=miss.range.slug, reasons=list(miss.reasons))


class SearchOut(BaseModel):
    hits: list[HitOut] = Field(description="Ranges that can host the demand, earliest window first")
    misses: list[MissOut] = Field(description="Ranges that cannot, each with its reasons")
