"""Identity's persistence port. `orchestrator.db` implements it inside one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from orchestrator.domain.catalogue import Organisation
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal, TokenInfo
from orchestrator.identity.verified import TokenGrant


class IdentityStore(Protocol):
    def get_organisation(self, organisation_id: str) -> Organisation | None: ...
    def find_organisation_by_handle(self, handle: str) -> Organisation | None: ...

    def add_principal(self, principal: Principal, *, created_at: datetime) -> None: ...
    def add_token(
        self,
        *,
        token_id: str,
        principal_id: str,
        digest: str,
        prefix: str,
        created_at: datetime,
        expires_at: datetime | None,
    ) -> None: ...
    def principal_for_token(self, digest: str, *, now: datetime) -> TokenGrant | None:
        """The principal of a live (not revoked, not expired) token with this digest, with its expiry."""
        ...

    def list_tokens(self, *, organisation_id: str | None) -> Sequence[TokenInfo]: ...
    def get_token(self, token_id: str) -> TokenInfo | None: ...
    def revoke_token(self, token_id: str, *, at: datetime) -> None: ...
    def count_admins(self) -> int: ...

    def add_audit(self, event: AuditEvent) -> None: ...
    def list_audit(
        self,
        *,
        organisation_id: str | None,
        object_id: str | None,
        action: str | None,
        limit: int,
        offset: int,
        operated_by: str | None = None,
    ) -> tuple[Sequence[AuditEvent], int]:
        """Events newest first; with `organisation_id`, only events on that organisation's objects
        (its ranges, its tokens) or made by its members, and with `operated_by` also every event on a
        range that organisation operates (other organisations' bookings of it included)."""
        ...
