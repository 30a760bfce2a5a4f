"""Inputs of the catalogue use cases: what a caller asks for, already parsed at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import Resources
from orchestrator.domain.ranges import OrganisationKind, RangeStatus, SharingPolicy


@dataclass(frozen=True, kw_only=True)
class OrganisationDraft:
    name: str
    country: str
    kind: OrganisationKind
    #: Derived from the name when not given (lowercase letters, digits and dashes).
    handle: str | None = None


@dataclass(frozen=True, kw_only=True)
class RangeDraft:
    slug: str
    name: str
    country: str
    capacity: Resources
    connector_kind: str
    connector_config: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    operator_organisation_id: str | None = None
    capabilities: frozenset[str] = frozenset()
    policy: SharingPolicy = field(default_factory=SharingPolicy)
    status: RangeStatus = RangeStatus.ACTIVE
    preference: int = 50


@dataclass(frozen=True, kw_only=True)
class RangePatch:
    """Fields left None are unchanged. `connector_config` is a JSON merge patch on the stored config
    (orchestrator.catalogue.secrets): secrets it does not mention keep their sealed value, a key set to
    None is removed; with a new `connector_kind` it is the whole new config."""

    name: str | None = None
    description: str | None = None
    country: str | None = None
    capabilities: frozenset[str] | None = None
    capacity: Resources | None = None
    policy: SharingPolicy | None = None
    status: RangeStatus | None = None
    preference: int | None = None
    connector_kind: str | None = None
    connector_config: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class MaintenanceDraft:
    start: datetime
    end: datetime
    reason: str = ""
