"""From a scenario document to what the core reads of it: its facts and its per-instance values.

The core never holds the parsed scenario model; this is where the document is parsed (once per document
and process: a version is immutable once used and the model is frozen, so every deploy of an exercise
shares one parse, about 35 ms for ctf-starter, instead of repeating it under the exercise's row lock).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from connectors.base import Resources
from orchestrator.catalogue.scenario_facts import ScenarioFacts, ScenarioHandle
from orchestrator.domain.errors import FieldProblem, InvalidInput
from scenarios.bundle import Bundle
from scenarios.errors import ScenarioError
from scenarios.footprint import footprint
from scenarios.images import pinned
from scenarios.library import SCENARIO_FILE
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml


@lru_cache(maxsize=256)
def _parsed(document: str) -> Scenario:
    return load_text(document)


def scenario_facts(document: str) -> ScenarioFacts:
    """The catalogue's Parser: validate a document; every problem becomes an InvalidInput field named by
    its document path (e.g. `spec.hosts[2].segments[0]`)."""
    try:
        scenario = _parsed(document)
    except ScenarioError as exc:
        raise InvalidInput([FieldProblem(p.path or "document", p.reason) for p in exc.problems]) from exc
    return ScenarioFacts(
        name=scenario.metadata.name,
        version=scenario.metadata.version,
        requires=frozenset(scenario.spec.requires),
        demand=Resources.from_dict(footprint(scenario).demand()),
        provisioning=tuple(p.name for p in scenario.spec.provisioning),
        handed_out=tuple(v.name for v in scenario.spec.variables if v.access),
        unpinned_images=tuple(
            sorted(
                {
                    h.image
                    for h in scenario.spec.hosts
                    if h.build is None and h.image and "@sha256:" not in h.image
                }
            )
        ),
        privileges=frozenset(_privileges(scenario)),
    )


def _privileges(scenario: Scenario) -> set[str]:
    """What the hosts ask a range to allow (the names of `ScenarioFacts.privileges`)."""
    asks: set[str] = set()
    for host in scenario.spec.hosts:
        s = host.security
        asks |= {
            name
            for name, wanted in (
                ("privileged", s.privileged),
                ("host_network", s.host_network),
                ("host_pid", s.host_pid),
                ("privilege_escalation", bool(s.allow_privilege_escalation)),
            )
            if wanted
        }
        asks |= {f"capability:{c}" for c in s.capabilities}
        if any(v.host_path for v in host.volumes):
            asks.add("host_path")
    return asks


@lru_cache(maxsize=256)
def _deployable(document: str, base_dir: Path | None, base: str) -> str:
    scenario = _parsed(document)
    if base_dir is None or not any(h.build is not None for h in scenario.spec.hosts):
        return document
    bundle = Bundle(scenario=scenario, directory=base_dir, path=base_dir / SCENARIO_FILE, text=document)
    return dump_yaml(pinned(bundle, base=base))


def deployable_document(handle: ScenarioHandle, *, base: str) -> str:
    """The document connectors deploy: the booked one, with the images the scenario builds itself
    pinned to their content tags (computed from its build contexts and the base image)."""
    return _deployable(handle.document, handle.base_dir, base)


def instance_values(document: str, *, seed: bytes, instance_id: str) -> dict[str, str]:
    """Every variable of the scenario resolved for one instance (see scenarios.materialise)."""
    return materialise(_parsed(document), seed=seed, instance_id=instance_id)
