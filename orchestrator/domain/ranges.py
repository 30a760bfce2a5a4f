"""Range values: what a national range shares, under which policy, and when it is unavailable."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import Resources, SecurityAllowance

#: The capabilities a range that allows privileged scenarios grants (what network and debugging
#: exercises add to their containers); any other capability is refused everywhere.
EXERCISE_CAPABILITIES = frozenset({"NET_ADMIN", "NET_RAW", "SYS_PTRACE"})


class RangeStatus(enum.StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    DRAINING = "draining"
    DECOMMISSIONED = "decommissioned"


class OrganisationKind(enum.StrEnum):
    RANGE_OPERATOR = "range_operator"
    TRAINING_PROVIDER = "training_provider"
    RESEARCH = "research"
    AGENCY = "agency"
    #: Another Federange instance: it books the ranges published to it through the federation API.
    FEDERATION_PEER = "federation_peer"


@dataclass(frozen=True, kw_only=True)
class SharingPolicy:
    """Who may book a range and how.

    Empty allow-lists mean "everyone". `max_foreign_share` is the fraction (0..1) of each capacity
    dimension that organisations from other countries than the range's may hold at any instant.
    """

    allowed_countries: frozenset[str] = frozenset()
    allowed_organisations: frozenset[str] = frozenset()
    max_foreign_share: float = 1.0
    approval_required: bool = False
    max_booking_length: timedelta | None = None
    min_lead_time: timedelta | None = None
    allow_privileged: bool = False
    #: Whether researchers may book this range directly (otherwise only through environments).
    researcher_bookings: bool = False
    #: Whether scenarios must name every image by digest (`image@sha256:...`) to be placed here.
    require_image_digests: bool = False

    def allowance(self) -> SecurityAllowance:
        """What scenarios may ask of this range: everything dangerous when it allows privileged ones
        (with the capabilities exercises need: NET_ADMIN, NET_RAW, SYS_PTRACE), nothing otherwise."""
        allowed = self.allow_privileged
        return SecurityAllowance(
            privileged=allowed,
            host_namespaces=allowed,
            host_path=allowed,
            added_capabilities=EXERCISE_CAPABILITIES if allowed else frozenset(),
        )

    def admits(self, *, organisation_id: str, country: str) -> bool:
        """Whether the allow-lists let this organisation book at all.

        Empty lists mean everyone; otherwise being named in either list is enough (union).
        """
        if not self.allowed_countries and not self.allowed_organisations:
            return True
        return organisation_id in self.allowed_organisations or country in self.allowed_countries


@dataclass(frozen=True, kw_only=True)
class MaintenanceWindow:
    """[start, end): the range offers no capacity in this window."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RangeSnapshot:
    """What decisions (admission, placement) need to know about one range, read once per decision."""

    id: str
    slug: str
    country: str
    operator_organisation: str
    capabilities: frozenset[str]
    capacity: Resources
    policy: SharingPolicy
    status: RangeStatus = RangeStatus.ACTIVE
    maintenance: tuple[MaintenanceWindow, ...] = field(default=())
    preference: int = 50
