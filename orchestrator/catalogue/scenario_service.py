"""The scenario catalogue: the built-in library plus versions uploaded by trainers' organisations.

A version (name@version) is immutable once an exercise or environment has used it: uploading a different
document under a used version is refused; re-uploading the same document is a no-op. Library versions
cannot be shadowed by uploads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from orchestrator.catalogue.ports import ScenarioStore
from orchestrator.catalogue.scenario_facts import ScenarioFacts, ScenarioHandle
from orchestrator.domain.catalogue import ScenarioVersion
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from orchestrator.identity import authz
from orchestrator.identity.principals import Principal, Role

#: Parses and validates a document, returning its facts; raises InvalidInput naming document paths.
Parser = Callable[[str], ScenarioFacts]


def digest(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Semantic-version-ish ordering: numeric parts numerically, others as text, numbers first."""
    parts = re.split(r"[.+-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def split_ref(ref: str) -> tuple[str, str | None]:
    """`name` or `name@version` -> (name, version or None)."""
    name, sep, version = ref.partition("@")
    if not name or (sep and not version):
        raise InvalidInput(FieldProblem("scenario", f"'{ref}' is not NAME or NAME@VERSION"))
    return name, version or None


class ScenarioCatalogue:
    def __init__(
        self,
        *,
        store: ScenarioStore,
        library: Callable[[], Sequence[ScenarioVersion]],
        parse: Parser,
        clock: Clock,
    ) -> None:
        self.store = store
        self.library = library
        self.parse = parse
        self.clock = clock

    def all_versions(self, name: str | None = None) -> list[ScenarioVersion]:
        found = [s for s in self.library() if name is None or s.name == name]
        found += list(self.store.scenario_versions(name))
        return sorted(found, key=lambda s: (s.name, version_key(s.version)))

    def latest(self) -> list[ScenarioVersion]:
        newest: dict[str, ScenarioVersion] = {}
        for s in self.all_versions():
            newest[s.name] = s
        return list(newest.values())

    def get(self, name: str, version: str | None = None) -> ScenarioVersion:
        versions = self.all_versions(name)
        if version is not None:
            versions = [s for s in versions if s.version == version]
        if not versions:
            wanted = name if version is None else f"{name}@{version}"
            raise NotFound(f"scenario '{wanted}' does not exist")
        return versions[-1]

    def upload(self, actor: Principal, document: str) -> tuple[ScenarioVersion, bool]:
        """Store a new version; returns (version, created). Trainers and admins only."""
        authz.require_role(actor, Role.TRAINER, Role.ADMIN, action="uploading scenarios")
        facts = self.parse(document)
        name, version = facts.name, facts.version
        new = ScenarioVersion(
            name=name,
            version=version,
            document=document,
            digest=digest(document),
            organisation_id=actor.organisation_id,
            created_at=self.clock.now(),
        )
        if any(s.name == name and s.version == version for s in self.library()):
            raise Conflict(
                f"scenario {new.ref} is a library version; upload it under another name or version"
            )
        existing = self.store.get_scenario(name, version)
        if existing is not None:
            if existing.digest == new.digest:
                return existing, False
            if existing.organisation_id != actor.organisation_id and actor.role is not Role.ADMIN:
                raise Forbidden(f"scenario {new.ref} belongs to another organisation")
            if existing.first_used_at is not None:
                raise Conflict(
                    f"scenario {new.ref} was used on {existing.first_used_at.isoformat()} and is immutable; "
                    "upload a new version"
                )
        self.store.put_scenario(new, uploaded_by=actor.id)
        return new, True

    def resolve(self, ref: str) -> ScenarioHandle:
        """`name` or `name@version` -> that version (the newest when unversioned), ready to book and
        deploy; a stored version that no longer validates is refused rather than deployed."""
        name, version = split_ref(ref)
        found = self.get(name, version)
        try:
            facts = self.parse(found.document)
        except InvalidInput as exc:
            raise NotFound(f"scenario {found.ref} no longer validates: {exc}") from exc
        return ScenarioHandle(
            facts=facts,
            document=found.document,
            digest=found.digest,
            organisation_id=found.organisation_id,
            base_dir=found.base_dir,
        )

    def mark_used(self, name: str, version: str) -> None:
        if self.store.get_scenario(name, version) is not None:
            self.store.mark_scenario_used(name, version, at=self.clock.now())
