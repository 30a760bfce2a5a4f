"""Builds the process's object graph once from Settings and hands it down (no global singletons)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from connectors.provisioning import Provisioner
from orchestrator.booking.ports import BookingStore
from orchestrator.booking.service import BookingService
from orchestrator.catalogue.ports import CatalogueStore, ScenarioStore
from orchestrator.catalogue.scenario_service import ScenarioCatalogue, digest
from orchestrator.catalogue.service import CatalogueService
from orchestrator.db import migrate
from orchestrator.db.crypto import Cipher, resolve_secret_key
from orchestrator.db.engine import make_engine
from orchestrator.db.uow import UnitOfWork
from orchestrator.domain.catalogue import ScenarioVersion
from orchestrator.domain.clock import Clock, SystemClock
from orchestrator.domain.errors import FieldProblem, InvalidInput, NotReady
from orchestrator.exercises.environments import EnvironmentService
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.placing import EnginePlacer
from orchestrator.exercises.planning import Placer
from orchestrator.exercises.ports import Unit
from orchestrator.exercises.service import ExerciseService
from orchestrator.identity.ports import IdentityStore
from orchestrator.identity.service import IdentityService
from orchestrator.placement.plugins import default_plugins
from orchestrator.settings import Settings
from orchestrator.wiring.exercises import ConnectorCache, ExerciseUnit, transactions
from scenarios import library as scenario_library
from scenarios.errors import ScenarioError
from scenarios.loader import load_text

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: Cipher
    clock: Clock = field(default_factory=SystemClock)
    connector_kinds: frozenset[str] = frozenset()
    seed: bytes = field(default=b"", repr=False)
    connectors: ConnectorCache = field(default_factory=ConnectorCache)
    placer: Placer = field(default_factory=lambda: EnginePlacer(default_plugins()))
    provisioner: Provisioner = field(default_factory=lambda: registry.load_provisioner("ansible"))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.sessions, self.cipher)

    def catalogue(self, store: CatalogueStore) -> CatalogueService:
        return CatalogueService(store=store, clock=self.clock, connector_kinds=self.connector_kinds)

    def identity(self, store: IdentityStore) -> IdentityService:
        return IdentityService(store=store, clock=self.clock)

    def scenarios(self, store: ScenarioStore) -> ScenarioCatalogue:
        """The scenario catalogue: the shipped library plus uploaded versions in `store`."""
        return ScenarioCatalogue(
            store=store, library=library_scenarios, parse=parse_scenario, clock=self.clock
        )

    def booking(self, store: BookingStore) -> BookingService:
        """The booking use cases on the caller's store (`uow.bookings`): they never commit."""
        return BookingService(
            store=store, clock=self.clock, hold_ttl=timedelta(seconds=self.settings.hold_ttl_seconds)
        )

    # -- exercises and environments ---------------------------------------------------------------
    def exercise_unit(self, uow: UnitOfWork) -> ExerciseUnit:
        """The caller's unit of work as the exercise lifecycle sees it."""
        return ExerciseUnit(uow, self)

    def exercises(self, unit: Unit) -> ExerciseService:
        return ExerciseService(unit=unit, clock=self.clock, placer=self.placer)

    def environments(self, unit: Unit) -> EnvironmentService:
        return EnvironmentService(exercises=self.exercises(unit), clock=self.clock)

    def runtime(self) -> Runtime:
        """The context object of the lifecycle's due-action handlers and ticks."""
        return Runtime(
            transactions=transactions(self),
            clock=self.clock,
            connectors=self.connectors,
            seed=self.seed,
            provisioner=self.provisioner,
            ready_timeout=self.settings.ready_timeout_seconds,
        )

    def close(self) -> None:
        self.connectors.close()
        self.engine.dispose()


@cache
def library_scenarios() -> Sequence[ScenarioVersion]:
    """The built-in library (scenarios/library) as catalogue versions; read and validated once per process."""
    return tuple(
        ScenarioVersion(
            name=b.scenario.metadata.name,
            version=b.scenario.metadata.version,
            document=b.text,
            digest=digest(b.text),
            organisation_id=None,
        )
        for b in scenario_library.library_versions()
    )


def parse_scenario(document: str) -> tuple[str, str]:
    """The catalogue's Parser: validate a document with scenarios.loader; every problem becomes an
    InvalidInput field named by its document path (e.g. `spec.hosts[2].segments[0]`)."""
    try:
        scenario = load_text(document)
    except ScenarioError as exc:
        raise InvalidInput([FieldProblem(p.path or "document", p.reason) for p in exc.problems]) from exc
    return scenario.metadata.name, scenario.metadata.version


def instance_seed(secret: str) -> bytes:
    """The seed per-instance values (flags, passwords) derive from: from FEDERANGE_INSTANCE_SEED if set,
    else from the secret key, so every process of one federation derives the same values."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"federange instance values v1").derive(
        secret.encode("utf-8")
    )


def build(settings: Settings, *, clock: Clock | None = None, require_migrated: bool = True) -> Services:
    """Connect to the database, check its schema revision, load the secret key and connector kinds.

    Raises NotReady with the fix when the database is unmigrated or the key is missing.
    """
    url = settings.resolved_database_url()
    secret = resolve_secret_key(
        configured=settings.secret_key, is_sqlite=settings.is_sqlite, data_dir=settings.data_dir
    )
    try:
        provisioner = registry.load_provisioner(settings.provisioner)
    except registry.UnknownExtension as exc:
        raise NotReady(f"FEDERANGE_PROVISIONER: {exc}") from exc
    engine = make_engine(url)
    if require_migrated:
        try:
            migrate.ensure_migrated(engine)
        except Exception:
            engine.dispose()
            raise
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessionmaker(bind=engine, expire_on_commit=False),
        cipher=Cipher(secret),
        connector_kinds=frozenset(registry.known_kinds()),
        seed=instance_seed(settings.instance_seed or secret),
        provisioner=provisioner,
    )
    if clock is not None:
        services.clock = clock
    missing = services.provisioner.unavailable()
    if missing:
        log.warning("provisioner %s cannot run playbooks here: %s", settings.provisioner, missing)
    log.info("federange wired to %s", engine.url.render_as_string(hide_password=True))
    return services
