"""The federation API's schemas (/federation/v1) and the hub's peer and publication schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from connectors.base import InstanceStatus, Requester
from orchestrator.api.schemas.bookings import DemandIn
from orchestrator.api.schemas.common import (
    MAX_TEXT,
    Country,
    EndpointOut,
    Out,
    Ref,
    Schema,
    Slug,
    UtcDateTime,
)
from orchestrator.catalogue.views import minutes
from orchestrator.domain.bookings import Booking
from orchestrator.federation.home import PublishedRange
from orchestrator.federation.model import API_VERSION, Peer, PeerInstance

InstanceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,19}$", max_length=20)]


class HandshakeOut(BaseModel):
    api: str = Field(description="The version this instance speaks (federation/v1)")
    versions: list[str]
    name: str = Field(description="This instance's name")
    country: str
    peer: dict[str, str] = Field(description="The caller, as this instance knows it")


class PolicySummaryOut(Out):
    """The sharing policy this instance applies to the calling peer on the range."""

    max_foreign_share: float
    max_booking_minutes: int | None
    min_lead_minutes: int | None
    approval_required: bool
    allow_privileged: bool
    require_image_digests: bool


class PublishedRangeOut(Out):
    api: str = API_VERSION
    slug: str
    name: str
    description: str
    country: str
    capabilities: list[str]
    capacity: dict[str, int]
    free: dict[str, int] = Field(description="What the caller could still book over the next hour")
    status: str
    policy: PolicySummaryOut

    @classmethod
    def from_domain(cls, published: PublishedRange) -> PublishedRangeOut:
        r = published.record
        p = r.policy
        policy = PolicySummaryOut.read(
            p, max_booking_minutes=minutes(p.max_booking_length), min_lead_minutes=minutes(p.min_lead_time)
        )
        return cls.read(
            r,
            api=API_VERSION,
            capabilities=sorted(r.capabilities),
            capacity=r.capacity.as_dict(),
            free=published.free.as_dict(),
            policy=policy,
        )


class AvailabilityOut(BaseModel):
    range: str
    start: datetime
    end: datetime
    free: dict[str, int]


class RequesterIn(Schema):
    """The organisation at the calling instance this hold is for (recorded here, in the audit; the
    sharing policy applies to the calling peer's own organisation)."""

    id: Ref
    name: str = Field(min_length=1, max_length=200)
    country: Country

    def to_domain(self) -> Requester:
        return Requester(id=self.id, name=self.name, country=self.country)


class HoldIn(Schema):
    key: Ref = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="The caller's idempotency key"
    )
    range: Slug
    start: UtcDateTime
    end: UtcDateTime
    demand: DemandIn
    for_organisation: RequesterIn | None = Field(
        default=None, description="On whose behalf the calling instance books (recorded, not trusted)"
    )


class RenewIn(Schema):
    end: UtcDateTime


class HoldOut(Out):
    id: str
    key: str
    range: str
    status: str
    status_reason: str
    start: datetime
    end: datetime
    demand: dict[str, int]
    expires_at: datetime | None

    @classmethod
    def from_domain(cls, b: Booking) -> HoldOut:
        return cls.read(
            b, key=b.request_id, range=b.range_slug, demand=b.demand.as_dict(), expires_at=b.hold_expires_at
        )


class InstanceIn(Schema):
    instance_id: InstanceId
    range: Slug
    exercise: Ref = Field(description="The key of the booking (hold) the instance runs under")
    team: str = Field(min_length=1, max_length=100)
    scenario_document: str = Field(min_length=1, max_length=MAX_TEXT)
    values: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(default_factory=dict, max_length=500)


class HostOut(Out):
    name: str
    ready: bool
    reason: str


class InstanceStatusOut(Out):
    instance_id: str
    phase: str
    hosts: list[HostOut]
    endpoints: list[EndpointOut]
    reason: str

    @classmethod
    def from_domain(cls, s: InstanceStatus) -> InstanceStatusOut:
        return cls.read(
            s,
            hosts=[HostOut.read(h) for h in s.hosts],
            endpoints=[EndpointOut.read(e) for e in s.endpoints],
        )


class InstanceRecordOut(Out):
    instance_id: str
    range: str
    exercise: str
    team: str
    phase: str


# -- operators and admins ----------------------------------------------------------------------------
class StopIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class PeerInstanceOut(Out):
    id: str
    peer_organisation_id: str
    booking_id: str
    exercise: str
    team: str
    state: str
    reason: str
    demand: dict[str, int]
    created_at: datetime

    @classmethod
    def from_domain(cls, i: PeerInstance) -> PeerInstanceOut:
        return cls.read(i, demand=i.demand.as_dict())


class PeerIn(Schema):
    name: Slug = Field(description="What this instance calls the peer (refusals say '<name>/<range>: ...')")
    base_url: str = Field(min_length=1, max_length=500, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    token: str = Field(
        min_length=1,
        max_length=500,
        json_schema_extra={"writeOnly": True},
        description="The peer token the peer issued to this instance (never shown again)",
    )
    tls_ca: str = Field(
        default="", max_length=64 * 1024, description="PEM: the CA the peer's certificate is checked against"
    )
    tls_cert: str = Field(
        default="",
        max_length=64 * 1024,
        description="PEM: our client certificate, for a peer that requires mutual TLS (with tls_key)",
    )
    tls_key: str = Field(
        default="",
        max_length=64 * 1024,
        json_schema_extra={"writeOnly": True},
        description="PEM: the client certificate's private key (sealed, never shown again)",
    )


class PeerOut(Out):
    id: str
    name: str
    base_url: str
    organisation_id: str
    api_version: str
    synced_at: datetime | None
    sync_error: str
    ranges: list[str]
    mutual_tls: bool = Field(description="Whether this instance presents a client certificate to the peer")

    @classmethod
    def from_domain(cls, peer: Peer, ranges: list[str]) -> PeerOut:
        return cls.read(peer, ranges=ranges, mutual_tls=bool(peer.tls_cert))
