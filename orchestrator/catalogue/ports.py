"""The catalogue's persistence port. `orchestrator.db` implements it inside one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from connectors.base import Resources
from orchestrator.domain.catalogue import MaintenanceRecord, Organisation, RangeRecord, ScenarioVersion
from orchestrator.identity.ports import IdentityStore


class CatalogueStore(IdentityStore, Protocol):
    """Organisations and ranges; the same store serves identity (principals, tokens, audit)."""

    def add_organisation(self, organisation: Organisation) -> None: ...
    def put_quota(self, organisation_id: str, limit: Resources) -> None:
        """Set the organisation's quota (what the booking engine enforces, see booking.quotas)."""
        ...

    def find_organisation_by_name(self, name: str) -> Organisation | None: ...
    def find_organisation_by_handle(self, handle: str) -> Organisation | None: ...
    def list_organisations(self) -> Sequence[Organisation]: ...

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


class ScenarioStore(Protocol):
    """Uploaded scenario versions, each with its owner's handle and the organisations it is shared with."""

    def get_scenario(self, organisation_id: str, name: str, version: str) -> ScenarioVersion | None: ...
    def scenario_versions(
        self, *, name: str | None = None, owner_id: str | None = None, visible_to: str | None = None
    ) -> Sequence[ScenarioVersion]:
        """Uploaded versions, by owner then name; `visible_to` keeps those an organisation owns or was
        shared (directly or with everyone)."""
        ...

    def put_scenario(self, scenario: ScenarioVersion, *, uploaded_by: str) -> None:
        """Insert, or replace the document of an existing, never-used version."""
        ...

    def mark_scenario_used(self, organisation_id: str, name: str, version: str, *, at: datetime) -> None: ...
    def share_scenario(
        self, organisation_id: str, name: str, shared_with: frozenset[str], *, at: datetime
    ) -> None:
        """Replace who the owner's scenario `name` is shared with (organisation ids, or "*")."""
        ...

    def owner_handle(self, organisation_id: str) -> str:
        """The organisation's handle; empty when no such organisation exists."""
        ...
