"""Catalogue values: organisations, ranges as stored, scenario versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
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

#: The owner of the built-in scenario library; no organisation may take this handle.
LIBRARY_OWNER = "federange"


@dataclass(frozen=True, kw_only=True)
class Organisation:
    """A member of the federation. `handle` names it in references (`<handle>/<scenario>@<version>`)."""

    id: str
    name: str
    handle: str
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
    #: The peer this range was imported from (its home instance books and deploys it); None: our own.
    origin_peer_id: str | None = None

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
    """One immutable-once-used version of a scenario document (YAML text as uploaded), owned by an
    organisation: its identity is `<owner>/<name>@<version>`.

    `organisation_id` is None (and `owner` is LIBRARY_OWNER) for the built-in library shipped in
    scenarios/library, whose versions also carry `base_dir`, the directory of their files. `shared_with`
    holds the organisations (ids, or "*" for every one) the owner shared the scenario with.
    """

    name: str
    version: str
    document: str
    digest: str
    organisation_id: str | None
    owner: str = LIBRARY_OWNER
    shared_with: frozenset[str] = frozenset()
    created_at: datetime | None = None
    first_used_at: datetime | None = None
    base_dir: Path | None = None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}@{self.version}"

    def visible_to(self, organisation_id: str) -> bool:
        """The library, the owner's own versions, and versions shared with the organisation."""
        return (
            self.organisation_id is None
            or self.organisation_id == organisation_id
            or bool({organisation_id, EVERYONE} & self.shared_with)
        )


#: `ScenarioVersion.shared_with` entry meaning every organisation of the federation.
EVERYONE = "*"
