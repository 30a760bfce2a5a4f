"""Federation values: publications and peer instances (home side), peers and peer holds (hub side)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from connectors.base import Resources

#: The federation API's version, announced by the handshake; a peer speaking another major is refused.
API_VERSION = "federation/v1"


class PeerInstanceState(enum.StrEnum):
    RUNNING = "running"
    TORN_DOWN = "torn_down"
    #: Stopped by the home range's operator (emergency stop); the peer reads the reason.
    TERMINATED = "terminated"


@dataclass(frozen=True, kw_only=True)
class PeerInstance:
    """Home side: an instance a peer deployed on one of our ranges, under one of its bookings."""

    id: str
    peer_organisation_id: str
    range_id: str
    booking_id: str
    exercise: str
    team: str
    demand: Resources
    state: PeerInstanceState
    reason: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Peer:
    """Hub side: another Federange instance whose published ranges we import (origin of those ranges)."""

    id: str
    name: str
    base_url: str
    organisation_id: str
    token: str
    api_version: str
    created_at: datetime
    synced_at: datetime | None = None
    sync_error: str = ""
    #: Mutual TLS with the peer (PEM; all empty: none): the CA its certificate is checked against, and
    #: our client certificate and key (the key secret, sealed with the token).
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    @property
    def tls(self) -> dict[str, str]:
        """The federation connector's TLS fields that are set."""
        given = {"tls_ca": self.tls_ca, "tls_cert": self.tls_cert, "tls_key": self.tls_key}
        return {k: v for k, v in given.items() if v}


class HoldState(enum.StrEnum):
    HOLDING = "holding"  # asked for (the peer may or may not have it: presumed abort)
    HELD = "held"  # the peer holds it and our local part is committed: to confirm
    CONFIRMED = "confirmed"
    RELEASED = "released"
    FAILED = "failed"  # the peer refused, or the hold expired before it was confirmed


@dataclass(frozen=True, kw_only=True)
class PeerHold:
    """Hub side: one hold on a peer's range for one exercise; its exercise id is the idempotency key."""

    id: str
    exercise_id: str
    peer_id: str
    range_id: str
    booking_id: str | None
    remote_id: str
    state: HoldState
    start: datetime
    end: datetime
    demand: Resources
    expires_at: datetime | None
    reason: str
    created_at: datetime
    updated_at: datetime
