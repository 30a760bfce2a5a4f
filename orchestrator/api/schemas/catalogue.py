"""Schemas for organisations, tokens, ranges, maintenance windows and audit events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from connectors.base import Resources
from orchestrator.api.schemas.common import Capability, Country, Out, Prose, Ref, Schema, Slug, UtcDateTime
from orchestrator.booking.lengths import MAX_BOOKING_LENGTH
from orchestrator.catalogue.access import AccessReport
from orchestrator.catalogue.drafts import MaintenanceDraft, OrganisationDraft, RangeDraft, RangePatch
from orchestrator.catalogue.health import RangeHealth
from orchestrator.catalogue.views import range_view
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.ranges import OrganisationKind, RangeStatus, SharingPolicy
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import IssuedToken, Role

#: The largest capacity a range may declare in each dimension (a million cores, a petabyte, a million
#: team instances): beyond any real range, within what the database columns and the sums over a
#: federation's calendars hold.
MAX_CPU = 1_000_000_000
MAX_MEMORY = 1_000_000_000
MAX_SLOTS = 1_000_000
MAX_GPUS = 1_000_000
MAX_BOOKING_MINUTES = int(MAX_BOOKING_LENGTH.total_seconds() // 60)
MAX_LEAD_MINUTES = 366 * 24 * 60
#: Fair-share defaults of a range's sharing policy, when its operator does not choose.
DEFAULT_FOREIGN_SHARE = 0.5
DEFAULT_BOOKING_MINUTES = 14 * 24 * 60


class OrganisationIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    country: Country
    kind: OrganisationKind
    handle: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$",
        description="Names the organisation in scenario references (`<handle>/<name>@<version>`); "
        "derived from the name when omitted",
    )

    def to_domain(self) -> OrganisationDraft:
        return OrganisationDraft(name=self.name, country=self.country, kind=self.kind, handle=self.handle)


class OrganisationOut(Out):
    id: str
    name: str
    handle: str
    country: str
    kind: OrganisationKind
    created_at: datetime


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=200, description="Who or what holds the token")
    organisation_id: Ref
    role: Role
    expires_at: UtcDateTime | None = None


class TokenOut(Out):
    id: str
    principal_id: str
    principal_name: str
    organisation_id: str
    role: Role
    prefix: str = Field(description="The first characters of the token, to recognise it")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The token itself: shown once, store it now")

    @classmethod
    def from_issued(cls, issued: IssuedToken) -> IssuedTokenOut:
        return cls(token=issued.plaintext, **TokenOut.read(issued.info).model_dump())


class CapacityIn(Schema):
    cpu_millicores: int = Field(ge=0, le=MAX_CPU, description="CPU shared, in millicores (1000 = one core)")
    memory_mib: int = Field(ge=0, le=MAX_MEMORY)
    slots: int = Field(ge=0, le=MAX_SLOTS, description="How many team instances may run at once")
    gpus: int = Field(default=0, ge=0, le=MAX_GPUS)

    def to_domain(self) -> Resources:
        return Resources(self.cpu_millicores, self.memory_mib, self.slots, self.gpus)


class PolicyIn(Schema):
    allowed_countries: list[Country] = Field(
        default_factory=list, max_length=250, description="Empty: every country"
    )
    allowed_organisations: list[Ref] = Field(
        default_factory=list, max_length=1000, description="Organisation ids; empty: all"
    )
    max_foreign_share: float = Field(
        default=DEFAULT_FOREIGN_SHARE,
        ge=0,
        le=1,
        description="The share of each dimension organisations of other countries may hold at once (fair "
        "share: half unless the operator says otherwise)",
    )
    approval_required: bool = False
    max_booking_minutes: int | None = Field(
        default=DEFAULT_BOOKING_MINUTES,
        gt=0,
        le=MAX_BOOKING_MINUTES,
        description="The longest booking (fair share: 14 days unless the operator says otherwise; null: "
        "the federation's maximum)",
    )
    min_lead_minutes: int | None = Field(default=None, ge=0, le=MAX_LEAD_MINUTES)
    allow_privileged: bool = False
    researcher_bookings: bool = Field(
        default=False, description="Researchers may book directly (otherwise only through environments)"
    )
    require_image_digests: bool = Field(
        default=False,
        description="Place only scenarios whose images are pinned by digest (image@sha256:...) or built by "
        "the scenario itself",
    )

    def to_domain(self) -> SharingPolicy:
        return SharingPolicy(
            allowed_countries=frozenset(self.allowed_countries),
            allowed_organisations=frozenset(self.allowed_organisations),
            max_foreign_share=self.max_foreign_share,
            approval_required=self.approval_required,
            max_booking_length=None
            if self.max_booking_minutes is None
            else timedelta(minutes=self.max_booking_minutes),
            min_lead_time=None if self.min_lead_minutes is None else timedelta(minutes=self.min_lead_minutes),
            allow_privileged=self.allow_privileged,
            researcher_bookings=self.researcher_bookings,
            require_image_digests=self.require_image_digests,
        )


class ConnectorIn(Schema):
    kind: str = Field(max_length=63, examples=["kubernetes", "docker", "ansible"])
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The connector's settings, validated against its kind's config schema (unknown keys are "
        "refused, naming the field); every value the schema marks secret, at any depth, is encrypted at "
        "rest and never returned",
    )


class RangeIn(Schema):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    description: Prose = ""
    operator_organisation_id: Ref | None = Field(default=None, description="Defaults to the caller's")
    country: Country
    capabilities: list[Capability] = Field(default_factory=list, max_length=64)
    capacity: CapacityIn
    policy: PolicyIn = Field(default_factory=PolicyIn)
    status: RangeStatus = RangeStatus.ACTIVE
    preference: int = Field(default=50, ge=0, le=100)
    connector: ConnectorIn

    def to_domain(self) -> RangeDraft:
        return RangeDraft(
            slug=self.slug,
            name=self.name,
            description=self.description,
            operator_organisation_id=self.operator_organisation_id,
            country=self.country,
            capabilities=frozenset(self.capabilities),
            capacity=self.capacity.to_domain(),
            policy=self.policy.to_domain(),
            status=self.status,
            preference=self.preference,
            connector_kind=self.connector.kind,
            connector_config=self.connector.config,
        )


class ConnectorPatch(Schema):
    kind: str | None = Field(default=None, max_length=63)
    config: dict[str, Any] | None = Field(
        default=None,
        description="A JSON merge patch (RFC 7386) on the stored config: mappings merge, null removes a key; "
        "secrets left out keep their stored value. With a new kind: the whole new config",
    )


class RangeUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: Prose | None = None
    country: Country | None = None
    capabilities: list[Capability] | None = Field(default=None, max_length=64)
    capacity: CapacityIn | None = None
    policy: PolicyIn | None = Field(
        default=None,
        description="A new policy replaces the whole current one: fields left out take their defaults",
    )
    status: RangeStatus | None = None
    preference: int | None = Field(default=None, ge=0, le=100)
    connector: ConnectorPatch | None = None

    def to_domain(self) -> RangePatch:
        return RangePatch(
            name=self.name,
            description=self.description,
            country=self.country,
            capabilities=None if self.capabilities is None else frozenset(self.capabilities),
            capacity=None if self.capacity is None else self.capacity.to_domain(),
            policy=None if self.policy is None else self.policy.to_domain(),
            status=self.status,
            preference=self.preference,
            connector_kind=None if self.connector is None else self.connector.kind,
            connector_config=None if self.connector is None else self.connector.config,
        )


class MaintenanceIn(Schema):
    start: UtcDateTime
    end: UtcDateTime
    reason: Prose = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"maintenance window must end after it starts ({start.isoformat()})")
        return end

    def to_domain(self) -> MaintenanceDraft:
        return MaintenanceDraft(start=self.start, end=self.end, reason=self.reason)


class MaintenanceOut(Out):
    id: str
    start: datetime
    end: datetime
    reason: str


class AccessOut(Out):
    range: str
    connector_kind: str
    ok: bool = Field(description="the credentials hold every permission the connector needs")
    missing: list[str] = Field(description="each permission the credentials lack, e.g. 'create namespaces'")
    reason: str = Field(description="why the range could not be asked (empty: it answered)")

    @classmethod
    def from_domain(cls, report: AccessReport) -> AccessOut:
        return cls.read(
            report, range=report.range_slug, connector_kind=report.kind, missing=list(report.missing)
        )


class ConnectorOut(BaseModel):
    kind: str
    config: dict[str, Any]
    secret_fields: list[str] = Field(
        description="Paths of the stored secret values, e.g. inventory.all.hosts.web.ansible_password (the "
        "values are never shown)"
    )


class RangeHealthOut(Out):
    healthy: bool
    reason: str = Field(description="why not, when unhealthy (the connector's own words)")
    version: str = Field(description="what the range reports running (engine or cluster version)")
    probed_at: datetime


class RangeOut(BaseModel):
    id: str
    slug: str
    name: str
    description: str
    operator_organisation_id: str
    country: str
    capabilities: list[str]
    capacity: dict[str, int]
    policy: dict[str, Any]
    status: RangeStatus
    preference: int
    connector: ConnectorOut
    maintenance: list[MaintenanceOut]
    created_at: datetime
    updated_at: datetime
    health: RangeHealthOut | None = Field(
        default=None,
        description="the last probe of the range's connector (the scheduler's probe tick, or `check=true` "
        "at registration); null until the range was first probed",
    )

    @classmethod
    def from_domain(cls, record: RangeRecord, health: RangeHealth | None = None) -> RangeOut:
        view = range_view(record)
        return cls(
            **view,
            created_at=record.created_at,
            updated_at=record.updated_at,
            health=None if health is None else RangeHealthOut.read(health),
        )


class AuditOut(Out):
    id: str
    at: datetime
    actor_principal_id: str | None
    actor_name: str
    actor_organisation_id: str | None
    action: str
    object_kind: str
    object_id: str
    range_id: str | None
    organisation_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def from_domain(cls, event: AuditEvent) -> AuditOut:
        return cls.read(
            event,
            before=None if event.before is None else dict(event.before),
            after=None if event.after is None else dict(event.after),
        )
