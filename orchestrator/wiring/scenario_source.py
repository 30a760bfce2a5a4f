"""The exercise lifecycle's ScenarioSource over the scenario catalogue (library + uploaded versions)."""

from __future__ import annotations

from orchestrator.catalogue.scenario_service import ScenarioCatalogue
from orchestrator.domain.errors import FieldProblem, InvalidInput, NotFound
from orchestrator.exercises.ports import ScenarioHandle
from scenarios import library
from scenarios.errors import ScenarioError
from scenarios.loader import parsed


def split_ref(ref: str) -> tuple[str, str | None]:
    name, sep, version = ref.partition("@")
    if not name or (sep and not version):
        raise InvalidInput(FieldProblem("scenario", f"'{ref}' is not NAME or NAME@VERSION"))
    return name, version or None


class CatalogueScenarios:
    def __init__(self, catalogue: ScenarioCatalogue) -> None:
        self.catalogue = catalogue

    def resolve(self, ref: str) -> ScenarioHandle:
        name, version = split_ref(ref)
        found = self.catalogue.get(name, version)
        try:
            # Once per process and document: versions are immutable once used, so every deploy of an
            # exercise shares one parse instead of repeating it under the exercise's row lock.
            scenario = parsed(found.document)
        except ScenarioError as exc:  # a stored version that no longer validates: say so, do not deploy it
            raise NotFound(f"scenario {found.ref} no longer validates: {exc}") from exc
        base_dir = library.scenario_dir(found.name) if found.organisation_id is None else None
        return ScenarioHandle(
            name=found.name,
            version=found.version,
            document=found.document,
            scenario=scenario,
            base_dir=base_dir,
        )

    def mark_used(self, name: str, version: str) -> None:
        self.catalogue.mark_used(name, version)
