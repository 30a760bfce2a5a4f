"""Principals: who is calling, with one role in one organisation, and the tokens they hold."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    TRAINER = "trainer"
    RESEARCHER = "researcher"
    #: Another Federange instance calling the federation API (/federation/v1) only.
    PEER = "peer"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is calling: a named identity with one role in one organisation."""

    id: str
    name: str
    organisation_id: str
    organisation_country: str
    role: Role
    #: The exercise or environment (its id) the principal acts through: set by the exercise use cases
    #: when they change the bookings of the exercise they act on, which nothing else may change.
    via: str = ""

    def acting_through(self, exercise_id: str) -> Principal:
        return replace(self, via=exercise_id)

    @property
    def is_system(self) -> bool:
        """The scheduler and the use cases acting on their own (SYSTEM), not a caller."""
        return self.id == "" and self.name == "system"


#: The actor recorded for changes made by the system itself (scheduler, bootstrap).
SYSTEM = Principal(id="", name="system", organisation_id="", organisation_country="", role=Role.ADMIN)


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    id: str
    principal_id: str
    principal_name: str
    organisation_id: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: `plaintext` is shown once and never stored."""

    plaintext: str
    info: TokenInfo


def token_view(token: TokenInfo) -> dict[str, object]:
    """A token as the audit log records it (never its secret)."""
    return {
        "id": token.id,
        "principal_id": token.principal_id,
        "principal_name": token.principal_name,
        "organisation_id": token.organisation_id,
        "role": token.role.value,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }
