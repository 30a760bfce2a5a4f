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
    handed_out: tuple[str, ...] = ()
    #: Images referenced by a tag rather than a digest (built images are tagged by content: pinned).
    unpinned_images: tuple[str, ...] = ()
    #: What the scenario's hosts ask a range to allow: `privileged`, `host_network`, `host_pid`,
    #: `host_path`, `capability:<NAME>` (see `connectors.base.SecurityAllowance`).
    privileges: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class ScenarioPin:
    """Exactly which scenario document something booked: `<owner>/<name>@<version>` and its digest
    (empty for exercises booked before pinning, which take the version as it stands)."""

    owner: str
    name: str
    version: str
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}@{self.version}"


@dataclass(frozen=True, kw_only=True)
class ScenarioHandle:
    """One scenario version, ready to book and deploy."""

    facts: ScenarioFacts
    #: The owning organisation's handle (`federange` for the built-in library).
    owner: str
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
        return f"{self.owner}/{self.facts.name}@{self.facts.version}"

    @property
    def pin(self) -> ScenarioPin:
        return ScenarioPin(owner=self.owner, name=self.name, version=self.version, digest=self.digest)

    @property
    def requires(self) -> frozenset[str]:
        return self.facts.requires

    @property
    def demand(self) -> Resources:
        return self.facts.demand
