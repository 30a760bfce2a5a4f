"""Schemas for scenarios: what a trainer needs to pick one (footprint, requirements) and its topology.

The API layer reads scenario documents with `scenarios.loader` (documents in the catalogue were validated
when stored); variables are shown by name and kind only, never with values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from orchestrator.api.schemas.common import Out, Ref, Schema
from orchestrator.domain.catalogue import ScenarioVersion
from orchestrator.identity.principals import Principal, Role
from scenarios.loader import load_text
from scenarios.summary import describe


@lru_cache(maxsize=512)
def _described(digest: str, document: str) -> dict[str, Any]:
    """The summary of one stored document, cached by digest (documents are immutable per digest)."""
    return describe(load_text(document))


def described(version: ScenarioVersion) -> dict[str, Any]:
    return _described(version.digest, version.document)


class Footprint(BaseModel):
    cpu_millicores: int = Field(description="reserved per team instance (the hosts' limits, else requests)")
    memory_mib: int
    slots: int
    gpus: int
    hosts: int
    requests_cpu_millicores: int
    requests_memory_mib: int


class ScenarioSummary(Out):
    ref: str = Field(description="`<owner>/<name>@<version>`: what an exercise books, exactly")
    owner: str = Field(description="the owning organisation's handle; `federange` for the built-in library")
    name: str
    version: str
    source: str = Field(description="library (shipped with Federange) or uploaded")
    organisation_id: str | None = Field(description="the uploading organisation; null for the library")
    shared_with: list[str] = Field(
        default_factory=list,
        description="organisations (ids, or * for all) the owner shared it with; shown to the owner only",
    )
    title: str
    description: str
    tags: list[str]
    difficulty: str
    requires: list[str] = Field(description="range capabilities the scenario needs")
    footprint: Footprint = Field(description="what one team instance needs; the booking reserves this")
    created_at: datetime | None
    first_used_at: datetime | None = Field(
        description="set once an exercise used it; the version is then immutable"
    )

    @classmethod
    def from_domain(cls, version: ScenarioVersion, *, viewer: Principal) -> ScenarioSummary:
        facts = described(version)
        owner_sees = viewer.role is Role.ADMIN or viewer.organisation_id == version.organisation_id
        return cls.read(
            version,
            source="library" if version.organisation_id is None else "uploaded",
            shared_with=sorted(version.shared_with) if owner_sees else [],
            **{key: facts[key] for key in ("title", "description", "tags", "difficulty", "requires")},
            footprint=Footprint(**facts["footprint"]),
        )


#: What a scenario's full view adds to its summary, as `describe` says it.
_DETAILS = ("duration", "segments", "hosts", "flows", "variables", "provisioning", "groups")


class ScenarioOut(ScenarioSummary):
    versions: list[str] = Field(description="every version of this scenario in the catalogue, oldest first")
    digest: str = Field(description="SHA-256 of the document")
    duration: dict[str, int]
    segments: list[dict[str, Any]]
    hosts: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    variables: list[dict[str, Any]] = Field(description="names and kinds only; values are generated per team")
    provisioning: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    document: str = Field(description="the scenario YAML as stored")
    warnings: list[str] = Field(
        default_factory=list, description="advice about the document that did not refuse it (uploads)"
    )

    @classmethod
    def of(
        cls, version: ScenarioVersion, *, versions: list[str], viewer: Principal, warnings: Sequence[str] = ()
    ) -> ScenarioOut:
        facts = described(version)
        summary = ScenarioSummary.from_domain(version, viewer=viewer)
        return cls(
            **summary.model_dump(),
            **{key: facts[key] for key in _DETAILS},
            versions=versions,
            digest=version.digest,
            document=version.document,
            warnings=list(warnings),
        )


class SharingIn(Schema):
    organisations: list[Ref] = Field(
        default_factory=list, max_length=500, description="organisation ids that may use every version"
    )
    everyone: bool = Field(default=False, description="share with every organisation of the federation")


class SharingOut(BaseModel):
    name: str
    shared_with: list[str]
