"""Builds the process's object graph once from Settings and hands it down (no global singletons)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from connectors.base import Connector, Resources
from connectors.provisioning import Provisioner
from connectors.security import check_allowance
from orchestrator.booking.ports import BookingStore
from orchestrator.booking.requests import BookingRequest, RequestResult
from orchestrator.booking.service import BookingService
from orchestrator.catalogue.ports import CatalogueStore, ScenarioStore
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.catalogue.scenario_service import ScenarioCatalogue, digest
from orchestrator.catalogue.service import CatalogueService
from orchestrator.db import migrate
from orchestrator.db.crypto import Cipher, resolve_secret_key
from orchestrator.db.engine import make_engine
from orchestrator.db.notifications import TOKENS_CHANNEL, Listener, Wakeups
from orchestrator.db.uow import UnitOfWork
from orchestrator.domain.catalogue import RangeRecord, ScenarioVersion
from orchestrator.domain.clock import Clock, SystemClock
from orchestrator.domain.errors import CalendarChanged, NotReady
from orchestrator.exercises.environments import EnvironmentLimits, EnvironmentService
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.pools import PoolService
from orchestrator.exercises.service import ExerciseService
from orchestrator.federation.audited import AuditedPeerRange
from orchestrator.federation.home import HomeFederation
from orchestrator.federation.hub import Hub
from orchestrator.federation.publications import Publications
from orchestrator.identity.ports import IdentityStore
from orchestrator.identity.principals import Principal
from orchestrator.identity.service import IdentityService
from orchestrator.identity.throttle import FailureCounter, Limit, SignInThrottle
from orchestrator.identity.verified import VerifiedTokens
from orchestrator.placement.plugins import Plugins, default_plugins
from orchestrator.settings import Settings
from orchestrator.wiring.connectors import ConnectorCache
from orchestrator.wiring.metrics import AdmissionMetrics
from orchestrator.wiring.oidc import Issuers, trust_of
from orchestrator.wiring.scenario_facts import deployable_document, instance_values, scenario_facts
from orchestrator.wiring.threads import UseCaseThreads
from scenarios import library as scenario_library

log = logging.getLogger(__name__)
_ADMISSIONS = AdmissionMetrics()


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
    plugins: Plugins = field(default_factory=default_plugins)
    provisioner: Provisioner = field(default_factory=lambda: registry.load_provisioner("ansible"))
    _closing: list[Callable[[], None]] = field(default_factory=list, repr=False)
    #: Rung when a due action is written for now; the scheduler's wake loop waits on it.
    wakeups: Wakeups = field(default_factory=Wakeups)
    #: The trusted OpenID Connect issuers (settings.oidc_issuers), their metadata and keys.
    issuers: Issuers = field(default_factory=lambda: Issuers(()))
    #: The key the console's session cookie is signed with (derived from the secret key).
    session_key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        self.connectors.peer_calls = self._audited_peer_range

    def _audited_peer_range(self, record: RangeRecord, connector: Connector) -> Connector:
        """A peer range's connector, its instance calls audited here (federation.audited)."""
        return AuditedPeerRange(connector, record, transactions=self.uow, clock=self.clock)

    def uow(self) -> UnitOfWork:
        """A new unit of work (one transaction), with the booking engine and the scenario catalogue."""
        return UnitOfWork(
            self.engine,
            self.sessions,
            self.cipher,
            booking=self.booking,
            scenarios=self.scenarios,
            wakeups=self.wakeups,
        )

    def catalogue(self, store: CatalogueStore) -> CatalogueService:
        s = self.settings
        quota = Resources(
            s.default_quota_cpu_millicores,
            s.default_quota_memory_mib,
            s.default_quota_slots,
            s.default_quota_gpus,
        )
        return CatalogueService(
            store=store,
            clock=self.clock,
            connector_kinds=self.connector_kinds,
            identity=self.identity(store),
            default_quota=None if quota == Resources() else quota,
        )

    def identity(self, store: IdentityStore) -> IdentityService:
        lifetime = self.settings.token_lifetime_days
        return IdentityService(
            store=store,
            clock=self.clock,
            token_lifetime=timedelta(days=lifetime) if lifetime else None,
            verifier=self.issuers or None,
        )

    @cached_property
    def verified_tokens(self) -> VerifiedTokens:
        """This process's cache of verified tokens; on PostgreSQL used only while it hears revocations."""
        cache = VerifiedTokens(clock=self.clock, ttl=timedelta(seconds=self.settings.token_cache_seconds))
        if self.engine.dialect.name == "postgresql" and self.settings.token_cache_seconds > 0:
            cache.trust(False)  # until the listener says it listens
            listener = Listener(
                self.engine, channel=TOKENS_CHANNEL, on_notice=cache.clear, on_state=cache.trust
            )
            self._closing.append(listener.close)
            listener.start()
        return cache

    @cached_property
    def throttle(self) -> SignInThrottle:
        """Failed sign-ins per client, counted in the database (shared by every replica)."""

        @contextmanager
        def counters() -> Iterator[FailureCounter]:
            with self.uow() as uow:
                yield uow.catalogue

        limit = Limit(failures=self.settings.signin_failures_per_minute, window=timedelta(minutes=1))
        return SignInThrottle(counters, clock=self.clock, limit=limit)

    def scenarios(self, store: ScenarioStore) -> ScenarioCatalogue:
        """The scenario catalogue: the shipped library plus uploaded versions in `store`."""
        return ScenarioCatalogue(
            store=store, library=library_scenarios, parse=scenario_facts, clock=self.clock
        )

    def booking(self, store: BookingStore) -> BookingService:
        """The booking use cases on the caller's store (`uow.bookings`): they never commit."""
        return BookingService(
            store=store,
            clock=self.clock,
            hold_ttl=timedelta(seconds=self.settings.hold_ttl_seconds),
            observer=_ADMISSIONS,
        )

    def create_booking_request(
        self, actor: Principal, request: BookingRequest, *, owner_organisation_id: str | None = None
    ) -> RequestResult:
        """A booking request in a unit of work of its own (the API's booking creation). One range whose
        lock another admission holds: decided without waiting for it, checked under it with the INSERT
        and the COMMIT (one round trip); when the check finds the calendar changed, decided again with
        the locks, as every other request is (`BookingStore.lock_ranges`)."""
        for optimistic in (True, False):
            try:
                with self.uow() as uow:
                    return self.booking(uow.bookings).create_request(
                        actor, request, owner_organisation_id=owner_organisation_id, optimistic=optimistic
                    )
            except CalendarChanged:
                if not optimistic:
                    raise
                log.debug("booking request: the calendar changed during an optimistic admission")
        raise AssertionError("unreachable")

    # -- exercises and environments ---------------------------------------------------------------
    def exercises(self, uow: UnitOfWork) -> ExerciseService:
        return ExerciseService(unit=uow, clock=self.clock, plugins=self.plugins)

    def environments(self, uow: UnitOfWork) -> EnvironmentService:
        limits = EnvironmentLimits(
            max_ttl=timedelta(minutes=self.settings.environment_max_ttl_minutes),
            max_lifetime=timedelta(minutes=self.settings.environment_max_lifetime_minutes),
        )
        return EnvironmentService(exercises=self.exercises(uow), clock=self.clock, limits=limits)

    def pools(self, uow: UnitOfWork) -> PoolService:
        return PoolService(exercises=self.exercises(uow))

    # -- federation ------------------------------------------------------------------------------
    def home(self, uow: UnitOfWork) -> HomeFederation:
        """What peers may do here through /federation/v1, inside `uow`."""
        return HomeFederation(
            unit=uow,
            clock=self.clock,
            parse=scenario_facts,
            check=check_allowance,
            name=self.settings.instance_name,
            country=self.settings.instance_country,
        )

    def publications(self, uow: UnitOfWork) -> Publications:
        return Publications(unit=uow, clock=self.clock)

    @cached_property
    def hub(self) -> Hub:
        """Peers, and the two-phase booking across them (opens its own units of work)."""
        return Hub(
            transactions=self.uow,
            clock=self.clock,
            connectors=self.connectors,
            load=registry.load,
            exercises=lambda unit: ExerciseService(unit=unit, clock=self.clock, plugins=self.plugins),
            abort_after=timedelta(seconds=self.settings.federation_abort_after_seconds),
            timeout_seconds=self.settings.federation_timeout_seconds,
        )

    def instance_values(self, handle: ScenarioHandle, instance_id: str) -> Mapping[str, str]:
        """Every per-instance value (flags, passwords) of `handle` for one instance, from the seed."""
        return instance_values(handle.document, seed=self.seed, instance_id=instance_id)

    def runtime(self) -> Runtime:
        """The context object of the lifecycle's due-action handlers and ticks."""
        return Runtime(
            transactions=self.uow,
            clock=self.clock,
            connectors=self.connectors,
            values=self.instance_values,
            deployable=lambda handle: deployable_document(handle, base=self.settings.base_image),
            provisioner=self.provisioner,
            ready_timeout=self.settings.ready_timeout_seconds,
        )

    @cached_property
    def use_case_threads(self) -> UseCaseThreads:
        """The threads the API runs its hottest use cases in (settings.use_case_threads)."""
        threads = UseCaseThreads(self.settings.use_case_threads)
        self._closing.append(threads.shutdown)
        return threads

    def close(self) -> None:
        for close in reversed(self._closing):
            close()
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
            base_dir=scenario_library.scenario_dir(b.scenario.metadata.name),
        )
        for b in scenario_library.library_versions()
    )


def derived_key(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the secret key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode("utf-8"))


def instance_seed(secret: str) -> bytes:
    """The seed per-instance values (flags, passwords) derive from: from FEDERANGE_INSTANCE_SEED if set,
    else from the secret key, so every process of one federation derives the same values."""
    return derived_key(secret, b"federange instance values v1")


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
    if settings.previous_secret_keys and not settings.instance_seed:
        raise NotReady(
            "FEDERANGE_PREVIOUS_SECRET_KEYS is set but FEDERANGE_INSTANCE_SEED is not: per-instance values "
            "(flags, passwords) derive from the secret key unless a seed is set, and would change with it; "
            "set FEDERANGE_INSTANCE_SEED to the previous FEDERANGE_SECRET_KEY to keep them (see "
            "docs/security.md, key rotation)"
        )
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
        cipher=Cipher(secret, settings.previous_secret_keys),
        connector_kinds=frozenset(registry.known_kinds()),
        seed=instance_seed(settings.instance_seed or secret),
        provisioner=provisioner,
        issuers=Issuers([trust_of(i) for i in settings.oidc_issuers]),
        session_key=derived_key(secret, b"federange console session v1"),
    )
    if clock is not None:
        services.clock = clock
    missing = services.provisioner.unavailable()
    if missing:
        log.warning("provisioner %s cannot run playbooks here: %s", settings.provisioner, missing)
    log.info("federange wired to %s", engine.url.render_as_string(hide_password=True))
    return services
