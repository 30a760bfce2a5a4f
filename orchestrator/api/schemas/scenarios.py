"""Schemas for scenarios: what a trainer needs to pick one (footprint, requirements) and its topology.

The API layer reads scenario documents with `scenarios.loader` (documents in the catalogue were validated
when stored); variables are shown by name and kind only, never with values.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from orchestrator.domain.catalogue import ScenarioVersion
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


class ScenarioSummary(BaseModel):
    name: str
    version: str
    source: str = Field(description="library (shipped with Federange) or uploaded")
    organisation_id: str | None = Field(description="the uploading organisation; null for the library")
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
    def from_domain(cls, version: ScenarioVersion) -> ScenarioSummary:
        facts = described(version)
        return cls(
            name=version.name,
            version=version.version,
            source="library" if version.organisation_id is None else "uploaded",
            organisation_id=version.organisation_id,
            title=facts["title"],
            description=facts["description"],
            tags=facts["tags"],
            difficulty=facts["difficulty"],
            requires=facts["requires"],
            footprint=Footprint(**facts["footprint"]),
            created_at=version.created_at,
            first_used_at=version.first_used_at,
        )


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

    @classmethod
    def of(cls, version: ScenarioVersion, *, versions: list[str]) -> ScenarioOut:
        facts = described(version)
        summary = ScenarioSummary.from_domain(version)
        return cls(
            **summary.model_dump(),
            versions=versions,
            digest=version.digest,
            duration=facts["duration"],
            segments=facts["segments"],
            hosts=facts["hosts"],
            flows=facts["flows"],
            variables=facts["variables"],
            provisioning=facts["provisioning"],
            groups=facts["groups"],
            document=version.document,
        )
