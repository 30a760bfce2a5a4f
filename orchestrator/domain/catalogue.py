"""Catalogue values: organisations, ranges as stored, scenario versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import Resources
from connectors.secrets import ConfigPath, merged, path_text
from orchestrator.domain.ranges import (
    MaintenanceWindow,
    OrganisationKind,
    RangeSnapshot,
    RangeStatus,
    SharingPolicy,
)


@dataclass(frozen=True, kw_only=True)
class Organisation:
    id: str
    name: str
    country: str
    kind: OrganisationKind
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConnectorSettings:
    """A range's connector kind and config, split by the kind's schema: `config` is the public part
    (what the API shows and audits), `secrets` every value the schema marks secret, by its path in the
    config (at any depth): sealed at rest, never shown, logged or audited."""

    kind: str
    config: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[ConfigPath, Any] = field(default_factory=dict)

    @property
    def secret_fields(self) -> list[str]:
        """The paths of the sealed values, as text (`inventory.all.hosts.web.ansible_password`)."""
        return sorted(path_text(p) for p in self.secrets)

    def merged(self) -> dict[str, Any]:
        """The whole config, secrets put back: only for building the connector."""
        return merged(self.config, self.secrets)


@dataclass(frozen=True, kw_only=True)
class MaintenanceRecord:
    id: str
    range_id: str
    window: MaintenanceWindow


@dataclass(frozen=True, kw_only=True)
class RangeRecord:
    id: str
    slug: str
    name: str
    description: str
    operator_organisation_id: str
    country: str
    capabilities: frozenset[str]
    capacity: Resources
    policy: SharingPolicy
    status: RangeStatus
    preference: int
    connector: ConnectorSettings
    created_at: datetime
    updated_at: datetime
    maintenance: tuple[MaintenanceRecord, ...] = ()

    def snapshot(self) -> RangeSnapshot:
        return RangeSnapshot(
            id=self.id,
            slug=self.slug,
            country=self.country,
            operator_organisation=self.operator_organisation_id,
            capabilities=self.capabilities,
            capacity=self.capacity,
            policy=self.policy,
            status=self.status,
            maintenance=tuple(m.window for m in self.maintenance),
            preference=self.preference,
        )


@dataclass(frozen=True, kw_only=True)
class ScenarioVersion:
    """One immutable-once-used version of a scenario document (YAML text as uploaded).

    `organisation_id` is None for the built-in library shipped in scenarios/library.
    """

    name: str
    version: str
    document: str
    digest: str
    organisation_id: str | None
    created_at: datetime | None = None
    first_used_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
