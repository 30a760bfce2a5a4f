"""The catalogue's persistence port. `orchestrator.db` implements it inside one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from orchestrator.domain.catalogue import (
    AuditEvent,
    MaintenanceRecord,
    Organisation,
    Principal,
    RangeRecord,
    ScenarioVersion,
    TokenInfo,
)


class CatalogueStore(Protocol):
    def add_organisation(self, organisation: Organisation) -> None: ...
    def get_organisation(self, organisation_id: str) -> Organisation | None: ...
    def find_organisation_by_name(self, name: str) -> Organisation | None: ...
    def list_organisations(self) -> Sequence[Organisation]: ...

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
    def principal_for_token(self, digest: str, *, now: datetime) -> Principal | None:
        """The principal of a live (not revoked, not expired) token with this digest."""
        ...

    def list_tokens(self, *, organisation_id: str | None) -> Sequence[TokenInfo]: ...
    def get_token(self, token_id: str) -> TokenInfo | None: ...
    def revoke_token(self, token_id: str, *, at: datetime) -> None: ...
    def count_admins(self) -> int: ...

    def add_range(self, record: RangeRecord) -> None: ...
    def get_range(self, ref: str) -> RangeRecord | None:
        """By id or by slug."""
        ...

    def slug_taken(self, slug: str) -> bool: ...
    def save_range(self, record: RangeRecord) -> None: ...
    def list_ranges(
        self, *, country: str | None, capability: str | None, status: str | None
    ) -> Sequence[RangeRecord]: ...
    def add_maintenance(self, record: MaintenanceRecord) -> None: ...
    def remove_maintenance(self, *, range_id: str, maintenance_id: str) -> MaintenanceRecord | None: ...

    def add_audit(self, event: AuditEvent) -> None: ...
    def list_audit(
        self,
        *,
        organisation_id: str | None,
        object_id: str | None,
        action: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[AuditEvent], int]:
        """Events newest first; with `organisation_id`, only events on that organisation's objects
        (its ranges, its tokens) or made by its members."""
        ...


class ScenarioStore(Protocol):
    def get_scenario(self, name: str, version: str) -> ScenarioVersion | None: ...
    def scenario_versions(self, name: str | None = None) -> Sequence[ScenarioVersion]: ...
    def put_scenario(self, scenario: ScenarioVersion, *, uploaded_by: str) -> None:
        """Insert, or replace the document of an existing, never-used version."""
        ...

    def mark_scenario_used(self, name: str, version: str, *, at: datetime) -> None: ...
