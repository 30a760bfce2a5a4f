"""Catalogue values: organisations, ranges as stored, scenario versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.base import Resources
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
    """A connector kind and its config; `secrets` holds the fields encrypted at rest, never shown."""

    kind: str
    config: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


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

    `organisation_id` is None for the built-in library shipped in scenarios/library, whose versions
    also carry `base_dir`, the directory of their files (playbooks, build contexts).
    """

    name: str
    version: str
    document: str
    digest: str
    organisation_id: str | None
    created_at: datetime | None = None
    first_used_at: datetime | None = None
    base_dir: Path | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
