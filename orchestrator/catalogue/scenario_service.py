"""The scenario catalogue: the built-in library plus versions uploaded by organisations, each owned.

A scenario's identity is `<owner>/<name>@<version>`: the library is owned by `federange` and read-only,
every upload by the uploader's organisation. A bare `name` (or `name@version`) resolves within the
caller's organisation first and then the library, never to another organisation's upload: using another
organisation's scenario takes its full reference and the owner's explicit share. A version is immutable
once an exercise or environment has used it (uploading a different document under it is refused,
re-uploading the same document is a no-op), and an exercise pins the digest of the document it booked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from orchestrator.catalogue.ports import ScenarioStore
from orchestrator.catalogue.scenario_facts import ScenarioFacts, ScenarioHandle, ScenarioPin
from orchestrator.domain.catalogue import EVERYONE, LIBRARY_OWNER, ScenarioVersion
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from orchestrator.identity import permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import Principal, Role

#: Parses and validates a document, returning its facts; raises InvalidInput naming document paths.
Parser = Callable[[str], ScenarioFacts]

_REF = re.compile(
    r"^(?:(?P<owner>[a-z0-9][a-z0-9-]*)/)?(?P<name>[a-z0-9][a-z0-9-]*)(?:@(?P<version>[^@/\s]+))?$"
)


def digest(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Semantic-version-ish ordering: numeric parts numerically, others as text, numbers first."""
    parts = re.split(r"[.+-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


@dataclass(frozen=True, kw_only=True)
class ScenarioRef:
    """`[owner/]name[@version]`: without an owner, the caller's organisation and then the library."""

    owner: str | None
    name: str
    version: str | None

    @classmethod
    def parse(cls, text: str, *, field: str = "scenario") -> ScenarioRef:
        found = _REF.fullmatch(text.strip())
        if found is None:
            raise InvalidInput(
                FieldProblem(
                    field, f"'{text}' is not a scenario reference: NAME, NAME@VERSION or OWNER/NAME@VERSION"
                )
            )
        return cls(owner=found["owner"], name=found["name"], version=found["version"])

    def __str__(self) -> str:
        owner = f"{self.owner}/" if self.owner else ""
        return f"{owner}{self.name}" + (f"@{self.version}" if self.version else "")


@dataclass(frozen=True, kw_only=True)
class Upload:
    version: ScenarioVersion
    created: bool
    #: Advice that does not refuse the upload (mutable image tags, ...).
    warnings: tuple[str, ...] = ()


def _newest(versions: Sequence[ScenarioVersion]) -> ScenarioVersion:
    return max(versions, key=lambda s: version_key(s.version))


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

    # -- reads -----------------------------------------------------------------------------------
    def visible(self, actor: Principal, *, name: str | None = None) -> list[ScenarioVersion]:
        """Every version the actor may use: the library, its organisation's, and those shared with it
        (admins: every version)."""
        found = [s for s in self.library() if name is None or s.name == name]
        visible_to = None if actor.role is Role.ADMIN else actor.organisation_id
        found += list(self.store.scenario_versions(name=name, visible_to=visible_to))
        return sorted(found, key=lambda s: (s.name, s.owner, version_key(s.version)))

    def latest(self, actor: Principal) -> list[ScenarioVersion]:
        """The newest version of every scenario the actor may use, one per owner and name."""
        newest: dict[tuple[str, str], ScenarioVersion] = {}
        for s in self.visible(actor):
            newest[(s.owner, s.name)] = s
        return list(newest.values())

    def _versions_of(self, actor: Principal, ref: ScenarioRef) -> list[ScenarioVersion]:
        if ref.owner == LIBRARY_OWNER:
            return [s for s in self.library() if s.name == ref.name]
        if ref.owner is not None:
            return [s for s in self.visible(actor, name=ref.name) if s.owner == ref.owner]
        own = self.store.scenario_versions(name=ref.name, owner_id=actor.organisation_id)
        return list(own) or [s for s in self.library() if s.name == ref.name]

    def get(self, actor: Principal, ref: ScenarioRef | str) -> ScenarioVersion:
        """The version `ref` names for this actor (the newest when unversioned)."""
        wanted = ScenarioRef.parse(ref) if isinstance(ref, str) else ref
        versions = self._versions_of(actor, wanted)
        if wanted.version is not None:
            versions = [s for s in versions if s.version == wanted.version]
        if not versions:
            where = (
                "or is not shared with your organisation"
                if wanted.owner
                else "in your organisation or the library"
            )
            raise NotFound(f"scenario '{wanted}' does not exist {where}")
        return _newest(versions)

    def versions(self, actor: Principal, found: ScenarioVersion) -> list[str]:
        """Every version of `found`'s scenario (same owner and name) the actor may see, oldest first."""
        same = [s for s in self.visible(actor, name=found.name) if s.owner == found.owner]
        return [s.version for s in sorted(same, key=lambda s: version_key(s.version))]

    def resolve(self, actor: Principal, ref: str) -> ScenarioHandle:
        """`ref` for this actor, ready to book and deploy; a stored version that no longer validates is
        refused rather than deployed."""
        return self._handle(self.get(actor, ref))

    def pinned(self, pin: ScenarioPin) -> ScenarioHandle:
        """Exactly the document an exercise booked (by its digest; an empty digest: a row made before
        pinning, which takes the version as it stands)."""
        if pin.owner == LIBRARY_OWNER:
            versions = [s for s in self.library() if (s.name, s.version) == (pin.name, pin.version)]
        else:
            versions = [
                s
                for s in self.store.scenario_versions(name=pin.name)
                if (s.owner, s.version) == (pin.owner, pin.version)
            ]
        if not versions:
            raise NotFound(f"scenario {pin.ref} no longer exists")
        found = versions[0]
        actual = digest(found.document)  # of the text that would be deployed, not the stored column
        if pin.digest and actual != pin.digest:
            raise Conflict(
                f"scenario {pin.ref} changed since it was booked (digest {actual[:12]}, booked "
                f"{pin.digest[:12]}); it is not deployed"
            )
        return self._handle(found)

    def _handle(self, found: ScenarioVersion) -> ScenarioHandle:
        try:
            facts = self.parse(found.document)
        except InvalidInput as exc:
            raise NotFound(f"scenario {found.ref} no longer validates: {exc}") from exc
        return ScenarioHandle(
            facts=facts,
            owner=found.owner,
            document=found.document,
            digest=found.digest,
            organisation_id=found.organisation_id,
            base_dir=found.base_dir,
        )

    # -- writes ----------------------------------------------------------------------------------
    def upload(self, actor: Principal, document: str) -> Upload:
        """Store a new version owned by the actor's organisation. Trainers and admins only."""
        permissions.require(actor, Action.SCENARIO_UPLOAD, owner=actor.organisation_id)
        facts = self.parse(document)
        owner = self.store.owner_handle(actor.organisation_id)
        new = ScenarioVersion(
            name=facts.name,
            version=facts.version,
            document=document,
            digest=digest(document),
            organisation_id=actor.organisation_id,
            owner=owner,
            created_at=self.clock.now(),
        )
        warnings = tuple(
            f"image '{image}' is not pinned by digest: the same tag may run different software tomorrow; "
            "ranges whose policy requires digests will not host this scenario"
            for image in facts.unpinned_images
        )
        if any(s.name == facts.name for s in self.library()):
            warnings += (
                f"the library has a scenario named '{facts.name}': in your organisation a bare "
                f"'{facts.name}' now means yours ({new.ref}); others keep the library's",
            )
        existing = self.store.get_scenario(actor.organisation_id, facts.name, facts.version)
        if existing is not None:
            if existing.digest == new.digest:
                return Upload(version=existing, created=False, warnings=warnings)
            if existing.first_used_at is not None:
                raise Conflict(
                    f"scenario {new.ref} was used on {existing.first_used_at.isoformat()} and is immutable; "
                    "upload a new version"
                )
        self.store.put_scenario(new, uploaded_by=actor.id)
        shared = existing.shared_with if existing is not None else frozenset()
        return Upload(version=replace(new, shared_with=shared), created=True, warnings=warnings)

    def share(
        self, actor: Principal, name: str, *, organisations: frozenset[str], everyone: bool
    ) -> frozenset[str]:
        """Set who, besides its owner, may use the actor's organisation's scenario `name` (every version)."""
        permissions.require(actor, Action.SCENARIO_SHARE, owner=actor.organisation_id)
        if not self.store.scenario_versions(name=name, owner_id=actor.organisation_id):
            raise NotFound(f"your organisation has no scenario named '{name}'")
        unknown = sorted(o for o in organisations if self.store.owner_handle(o) == "")
        if unknown:
            raise InvalidInput(FieldProblem("organisations", f"unknown organisations: {', '.join(unknown)}"))
        shared = frozenset(organisations - {actor.organisation_id}) | (
            {EVERYONE} if everyone else frozenset()
        )
        self.store.share_scenario(actor.organisation_id, name, shared, at=self.clock.now())
        return shared

    def mark_used(self, handle: ScenarioHandle) -> None:
        """Freeze an uploaded version: an exercise booked it (library versions are files: always frozen)."""
        if handle.organisation_id is not None:
            self.store.mark_scenario_used(
                handle.organisation_id, handle.name, handle.version, at=self.clock.now()
            )
