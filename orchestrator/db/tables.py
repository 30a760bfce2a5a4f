"""SQLAlchemy 2 tables of the catalogue. Alembic migrations must match these (tests check it)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orchestrator.db.types import UTCDateTime

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def values(value: DataclassInstance, **differ: Any) -> dict[str, Any]:
    """A domain value's fields by name, for the row of the same column names; `differ` gives the rest."""
    return {f.name: getattr(value, f.name) for f in fields(value)} | differ


def fill(row: object, columns: dict[str, Any]) -> None:
    """Sets a row's columns by name (SQLAlchemy writes only those whose value changed)."""
    for name, value in columns.items():
        setattr(row, name, value)


def read(cls: type[D], row: object, **differ: Any) -> D:
    """The domain value `cls` off a row: each field from the column of the same name unless `differ`
    gives it."""
    return cls(**{f.name: differ[f.name] if f.name in differ else getattr(row, f.name) for f in fields(cls)})


class OrganisationRow(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PrincipalRow(Base):
    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RangeRow(Base):
    __tablename__ = "ranges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    operator_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    capabilities: Mapped[list[str]] = mapped_column(JsonDoc)
    cpu_millicores: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    allowed_countries: Mapped[list[str]] = mapped_column(JsonDoc)
    allowed_organisations: Mapped[list[str]] = mapped_column(JsonDoc)
    max_foreign_share: Mapped[float] = mapped_column(Float, default=1.0)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    max_booking_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_lead_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allow_privileged: Mapped[bool] = mapped_column(Boolean, default=False)
    researcher_bookings: Mapped[bool] = mapped_column(Boolean, default=False)
    require_image_digests: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    preference: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(16), index=True)
    connector_kind: Mapped[str] = mapped_column(String(32))
    connector_config: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    connector_secrets: Mapped[str] = mapped_column(Text, default="")
    #: The peer (another Federange instance) this range was imported from; None: a range of this instance.
    origin_peer_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MaintenanceRow(Base):
    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_range_window", "range_id", "start", "end"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_principal_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(36))
    range_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)


#: Bookings that take capacity; the calendar indexes hold only these (an expired hold is filtered by time).
OCCUPYING_SQL = "status IN ('held', 'pending_approval', 'confirmed', 'active')"


class BookingRow(Base):
    """A reservation of capacity on one range for [start, end).

    Admission finds the bookings overlapping a window through ix_bookings_range_calendar: one index range
    scan per length class (range_id, length_class, start in (window.start - 2^class h, window.end)), see
    orchestrator.booking.lengths, so its cost grows with the overlapping bookings, not with the calendar.
    ix_bookings_owner_calendar does the same per organisation for quotas. Both are partial: bookings that
    no longer take capacity (cancelled, expired, released, rejected) leave them.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint(
            "owner_organisation_id", "request_id", "range_id", name="uq_bookings_owner_request_range"
        ),
        Index(
            "ix_bookings_range_calendar",
            "range_id",
            "length_class",
            "start",
            postgresql_where=text(OCCUPYING_SQL),
            sqlite_where=text(OCCUPYING_SQL),
        ),
        Index(
            "ix_bookings_owner_calendar",
            "owner_organisation_id",
            "length_class",
            "start",
            postgresql_where=text(OCCUPYING_SQL),
            sqlite_where=text(OCCUPYING_SQL),
        ),
        Index("ix_bookings_range_start", "range_id", "start"),
        Index("ix_bookings_owner_start", "owner_organisation_id", "start"),
        Index(
            "ix_bookings_holds",
            "hold_expires_at",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id"))
    owner_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    owner_country: Mapped[str] = mapped_column(String(2))
    created_by: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    length_class: Mapped[int] = mapped_column(Integer)
    cpu_millicores: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuotaRow(Base):
    """Optional per-organisation ceiling on concurrently held capacity (all ranges together)."""

    __tablename__ = "organisation_quotas"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    cpu_millicores: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer, default=0)


class DueActionRow(Base):
    """One scheduled action; claimed by a scheduler with a lease so replicas never run it twice at once."""

    __tablename__ = "due_actions"
    __table_args__ = (
        Index("ix_due_actions_pending", "status", "due_at"),
        Index("ix_due_actions_object", "object_kind", "object_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(36))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ScenarioRow(Base):
    """An uploaded scenario version, owned by its organisation (library scenarios live as files in
    scenarios/library): `<owner>/<name>@<version>` is unique, the same name in two organisations is not
    the same scenario."""

    __tablename__ = "scenario_versions"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "name", "version", name="uq_scenario_versions_organisation_id_name_version"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(36))
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ScenarioShareRow(Base):
    """An owner's scenario (every version of the name) shared with one organisation, or with every one
    (`shared_with` = "*")."""

    __tablename__ = "scenario_shares"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id",
            "name",
            "shared_with",
            name="uq_scenario_shares_organisation_id_name_shared_with",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(63))
    shared_with: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExerciseRow(Base):
    """A federated exercise or a researcher's environment (kind), with its placement and lifecycle status."""

    __tablename__ = "exercises"
    __table_args__ = (Index("ix_exercises_owner_status", "owner_organisation_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    owner_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[str] = mapped_column(String(36))
    scenario_owner: Mapped[str] = mapped_column(String(40))
    scenario_name: Mapped[str] = mapped_column(String(63))
    scenario_version: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the exact document booked (deployed as is); empty for rows made before pinning.
    scenario_digest: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    lead_seconds: Mapped[int] = mapped_column(Integer)
    warn_seconds: Mapped[int] = mapped_column(Integer)
    constraints: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_by: Mapped[str] = mapped_column(String(200), default="")
    placement: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InstanceRow(Base):
    """One team's instance of an exercise on one range, in one stage of its lifecycle."""

    __tablename__ = "exercise_instances"
    __table_args__ = (Index("ix_instances_range_stage", "range_id", "stage"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(100))
    team_organisation: Mapped[str] = mapped_column(String(200), default="")
    team_country: Mapped[str] = mapped_column(String(2), default="")
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id"))
    booking_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    stage: Mapped[str] = mapped_column(String(16))
    stage_reason: Mapped[str] = mapped_column(Text, default="")
    failed_stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    endpoints: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    torn_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StageRow(Base):
    """One attempt at one stage of an instance: when, how it ended, its log and error."""

    __tablename__ = "instance_stages"
    __table_args__ = (Index("ix_instance_stages_instance", "instance_id", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("exercise_instances.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    log: Mapped[str] = mapped_column(Text, default="")


class WarmPoolRow(Base):
    """A warm pool: the exercise of kind `pool` (same id) and how many ready instances it keeps."""

    __tablename__ = "warm_pools"

    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True)
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id"), index=True)
    min_ready: Mapped[int] = mapped_column(Integer)
    max_ready: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamLinkRow(Base):
    """A team's own link to its access page: a random token shown once, kept as its SHA-256 digest."""

    __tablename__ = "team_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("exercise_instances.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExerciseEventRow(Base):
    __tablename__ = "exercise_events"
    __table_args__ = (Index("ix_exercise_events_exercise_at", "exercise_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)


class RangeHealthRow(Base):
    """The last probe of a range: health, version and the capacity its connector observed."""

    __tablename__ = "range_health"

    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id", ondelete="CASCADE"), primary_key=True)
    healthy: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(100), default="")
    observed_free: Mapped[dict[str, int]] = mapped_column(JsonDoc)
    observed_total: Mapped[dict[str, int]] = mapped_column(JsonDoc)
    probed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuthFailureRow(Base):
    """Failed sign-ins of one client address in its current window (see identity.throttle)."""

    __tablename__ = "auth_failures"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer)


# -- federation -------------------------------------------------------------------------------------
class PublicationRow(Base):
    """A range of this instance made visible to a peer organisation (kind federation_peer)."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("range_id", "peer_organisation_id", name="uq_publications_range_id_peer"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id", ondelete="CASCADE"), index=True)
    peer_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerInstanceRow(Base):
    """Home side: an instance a peer deployed on one of this instance's ranges, under one of its bookings."""

    __tablename__ = "peer_instances"
    __table_args__ = (Index("ix_peer_instances_peer_range", "peer_organisation_id", "range_id"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    peer_organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id"))
    booking_id: Mapped[str] = mapped_column(String(36), index=True)
    exercise: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(100))
    demand: Mapped[dict[str, int]] = mapped_column(JsonDoc)
    #: running | torn_down | terminated (an operator's emergency stop; `reason` says why)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerRow(Base):
    """Hub side: another Federange instance whose published ranges this one imports."""

    __tablename__ = "peers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    #: The peer token this instance calls it with, sealed like a connector secret.
    token_sealed: Mapped[str] = mapped_column(Text)
    api_version: Mapped[str] = mapped_column(String(32), default="")
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sync_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerHoldRow(Base):
    """Hub side: one hold this instance took on a peer's range for one exercise (two-phase state)."""

    __tablename__ = "peer_holds"
    __table_args__ = (
        UniqueConstraint("exercise_id", "range_id", name="uq_peer_holds_exercise_id_range_id"),
        Index("ix_peer_holds_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The exercise (or environment) id: also the idempotency key sent to the peer.
    exercise_id: Mapped[str] = mapped_column(String(36), index=True)
    peer_id: Mapped[str] = mapped_column(ForeignKey("peers.id"))
    range_id: Mapped[str] = mapped_column(ForeignKey("ranges.id"))
    booking_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    remote_id: Mapped[str] = mapped_column(String(36), default="")
    #: holding | held | confirmed | released | failed
    state: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    demand: Mapped[dict[str, int]] = mapped_column(JsonDoc)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
