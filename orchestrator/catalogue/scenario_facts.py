"""What the core reads of a scenario: a few frozen facts, and the document it hands on unchanged.

The orchestrator's core never carries the parsed scenario model (a pydantic document of the `scenarios`
package). It books by the footprint, places by the required capabilities, provisions by playbook names
and hands teams the variables marked for them; connectors receive the document itself and parse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connectors.base import Resources


@dataclass(frozen=True, kw_only=True)
class ScenarioFacts:
    """What a valid scenario document says that the core needs."""

    name: str
    version: str
    #: Capabilities a range must have to host an instance (`spec.requires`).
    requires: frozenset[str]
    #: One team instance's booked demand: the scenario's footprint.
    demand: Resources
    #: Names of the provisioning playbooks run after deploy, in order.
    provisioning: tuple[str, ...]
    #: Variables handed to each team (marked `access: true`; never flags).
    handed_out: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ScenarioHandle:
    """One scenario version, ready to book and deploy."""

    facts: ScenarioFacts
    #: The document exactly as stored, and its SHA-256 (what an exercise pins).
    document: str
    digest: str
    #: Owning organisation; None for the built-in library.
    organisation_id: str | None
    #: Where the version's files (playbooks, build contexts) live; None for uploaded documents.
    base_dir: Path | None

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def version(self) -> str:
        return self.facts.version

    @property
    def ref(self) -> str:
        return f"{self.facts.name}@{self.facts.version}"

    @property
    def requires(self) -> frozenset[str]:
        return self.facts.requires

    @property
    def demand(self) -> Resources:
        return self.facts.demand
