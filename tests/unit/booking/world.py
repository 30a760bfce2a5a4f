"""A small federation in memory for booking tests: organisations, ranges, principals, a frozen clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.base import Resources
from orchestrator.booking.memory import InMemoryBookingStore
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.service import BookingService
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.clock import FrozenClock
from orchestrator.domain.ranges import OrganisationKind, RangeSnapshot, SharingPolicy
from orchestrator.identity.principals import Principal, Role

T0 = datetime(2027, 3, 4, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def org(org_id: str, country: str, name: str | None = None) -> Organisation:
    return Organisation(
        id=org_id,
        name=name or org_id,
        handle=org_id.lower(),
        country=country,
        kind=OrganisationKind.TRAINING_PROVIDER,
        created_at=T0,
    )


def rng(
    range_id: str,
    *,
    country: str = "EE",
    operator: str = "ee-ops",
    capacity: Resources = Resources(16000, 32768, 8, 0),
    policy: SharingPolicy | None = None,
    **extra: object,
) -> RangeSnapshot:
    return RangeSnapshot(
        id=range_id,
        slug=f"{range_id}-range",
        country=country,
        operator_organisation=operator,
        capabilities=frozenset({"k8s"}),
        capacity=capacity,
        policy=policy or SharingPolicy(),
        **extra,  # type: ignore[arg-type]
    )


def person(org_id: str, country: str, role: Role = Role.TRAINER, name: str = "") -> Principal:
    return Principal(
        id=f"p-{org_id}-{role.value}",
        name=name or f"{org_id}-{role.value}",
        organisation_id=org_id,
        organisation_country=country,
        role=role,
    )


@dataclass
class World:
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(T0 - timedelta(days=1)))
    store: InMemoryBookingStore = field(
        default_factory=lambda: InMemoryBookingStore(
            ranges=[rng("ee"), rng("fi", country="FI", operator="fi-ops")],
            organisations=[
                org("ee-ops", "EE"),
                org("fi-ops", "FI"),
                org("ee-school", "EE", "Tallinn school"),
                org("de-lab", "DE", "Berlin lab"),
                org("admins", "BE"),
            ],
        )
    )
    hold_ttl: timedelta = timedelta(minutes=10)

    @property
    def service(self) -> BookingService:
        return BookingService(store=self.store, clock=self.clock, hold_ttl=self.hold_ttl)


def request(
    *items: tuple[str, Resources], start: float = 0, end: float = 4, hold: bool = True, **extra: object
) -> BookingRequest:
    return BookingRequest(
        items=[BookingItem(range_ref=r, demand=d) for r, d in items],
        start=at(start),
        end=at(end),
        hold=hold,
        **extra,  # type: ignore[arg-type]
    )


TRAINER = person("ee-school", "EE")
FOREIGN = person("de-lab", "DE")
EE_OPERATOR = person("ee-ops", "EE", Role.OPERATOR)
#: A trainer of the operating organisation: books its own ranges (operators decide, they do not book).
EE_OPS_TRAINER = person("ee-ops", "EE")
FI_OPS_TRAINER = person("fi-ops", "FI")
FI_OPERATOR = person("fi-ops", "FI", Role.OPERATOR)
ADMIN = person("admins", "BE", Role.ADMIN)
