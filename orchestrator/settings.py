"""Settings, read once from the environment (prefix FEDERANGE_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scenarios.images import DEFAULT_BASE


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("federange", appauthor=False))


class OidcIssuer(BaseModel):
    """An OpenID Connect issuer this instance trusts: whose tokens (bearer JWTs on the API, sign-in on the
    console) map to a principal of one of our organisations, with a role.

    The organisation is `organisation` (a handle or id: the issuer is that organisation's own identity
    provider) or, for an issuer shared by several organisations, the value of the `organisation_claim`
    claim. The role is the first value of the `role_claim` claim (a string or a list) that `roles` maps to
    a role (without `roles`, values that name a role themselves: `trainer`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A short name for the sign-in button and the session (`[a-z0-9-]`).
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    #: The `iss` of its tokens; discovery is at `<issuer>/.well-known/openid-configuration`.
    issuer: HttpUrl
    #: The `aud` bearer tokens must carry on the API (default: `client_id`).
    audience: str = ""
    #: The console's client at this issuer (code flow + PKCE; a secret only for confidential clients).
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    organisation: str = ""
    organisation_claim: str = ""
    role_claim: str = "roles"
    roles: dict[str, str] = Field(default_factory=dict)
    #: Where the display name comes from.
    name_claim: str = "name"

    @model_validator(mode="after")
    def _complete(self) -> OidcIssuer:
        if not (self.audience or self.client_id):
            raise ValueError(f"issuer '{self.name}' needs an audience or a client_id")
        if bool(self.organisation) == bool(self.organisation_claim):
            raise ValueError(f"issuer '{self.name}' needs exactly one of organisation and organisation_claim")
        return self

    @property
    def issuer_url(self) -> str:
        return str(self.issuer).rstrip("/")

    @property
    def expected_audience(self) -> str:
        return self.audience or self.client_id


class Settings(BaseSettings):
    """Everything configurable about one Federange process.

    The embedded default is a SQLite file in the user's data directory; FEDERANGE_DATABASE_URL selects
    PostgreSQL (`postgresql+psycopg://...`), which requires FEDERANGE_SECRET_KEY.
    """

    model_config = SettingsConfigDict(env_prefix="FEDERANGE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = Field(default="", repr=False)
    #: Keys sealed secrets may still be under while a key rotation is under way (newest first; JSON list in
    #: FEDERANGE_PREVIOUS_SECRET_KEYS). New secrets are sealed with `secret_key` only; `federange db
    #: rotate-key` re-seals the old ones, after which the previous keys can go.
    previous_secret_keys: list[str] = Field(default_factory=list, repr=False, max_length=16)
    host: str = "127.0.0.1"
    port: int = 8471
    hold_ttl_seconds: int = Field(default=600, ge=10)
    scheduler_tick_seconds: float = Field(default=2.0, gt=0)
    probe_interval_seconds: float = Field(default=60.0, gt=0)
    reconcile_interval_seconds: float = Field(default=60.0, gt=0)
    heal_interval_seconds: float = Field(default=30.0, gt=0)
    action_parallelism: int = Field(default=8, ge=1, le=256)
    action_lease_seconds: float = Field(default=60.0, ge=5)
    ready_timeout_seconds: float = Field(default=600.0, gt=0)
    #: On SIGTERM, how long running due actions may take to finish before they are handed back.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=3600)
    #: The named provisioner (entry-point group `federange.provisioners`) that runs scenarios'
    #: provisioning playbooks; an unknown name fails at start-up.
    provisioner: str = "ansible"
    instance_seed: str = Field(default="", repr=False)
    #: The base image the scenarios' own images are built on (their content tags depend on it).
    base_image: str = DEFAULT_BASE
    #: Fair share: the quota a new organisation starts with (all its bookings together; 0 everywhere:
    #: none), and how long a researcher's environment lives at most per launch or renewal and in all.
    default_quota_cpu_millicores: int = Field(default=64_000, ge=0, le=1_000_000_000)
    default_quota_memory_mib: int = Field(default=262_144, ge=0, le=1_000_000_000)
    default_quota_slots: int = Field(default=32, ge=0, le=1_000_000)
    default_quota_gpus: int = Field(default=4, ge=0, le=1_000_000)
    environment_max_ttl_minutes: int = Field(default=8 * 60, ge=1, le=366 * 24 * 60)
    environment_max_lifetime_minutes: int = Field(default=7 * 24 * 60, ge=1, le=366 * 24 * 60)
    #: The largest request body accepted (larger ones are refused with 413 before they are parsed).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    #: Failed sign-ins one client address may make per minute before it is refused (429) for a while.
    signin_failures_per_minute: int = Field(default=20, ge=1, le=100_000)
    #: Lifetime of an API token issued without an explicit expiry (0: tokens never expire by default).
    token_lifetime_days: int = Field(default=90, ge=0, le=3650)
    #: The OpenID Connect issuers trusted for sign-in (JSON list in FEDERANGE_OIDC_ISSUERS).
    oidc_issuers: list[OidcIssuer] = Field(default_factory=list, max_length=64)
    #: The console's session cookie lifetime, and whether it is sent over HTTPS only (set it behind TLS).
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    session_https_only: bool = False
    #: Serve the web console at `/` (false: the API and its docs only, e.g. for an API-only replica).
    console_enabled: bool = True

    #: How long a verified API token is remembered, so that a request needs no database transaction to
    #: authenticate (0: every request looks its token up). A revocation reaches every process at once on
    #: PostgreSQL (LISTEN/NOTIFY); this bounds everything else (an embedded server clears its own).
    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    #: Threads of an API process that run booking admissions (`api.deps.in_thread`): each holds a
    #: database connection for its unit of work. A few per core is enough while the database answers in
    #: well under a millisecond; more threads only contend for the interpreter (docs/benchmarks.md).
    use_case_threads: int = Field(default=8, ge=1, le=64)
    #: Log lines: `human` (default) or `json` (one event per line with the exercise/instance/range ids).
    log_format: Literal["human", "json"] = "human"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: `federange scheduler` serves its Prometheus metrics on this port (0: not served; the API serves
    #: its own on /metrics).
    metrics_port: int = Field(default=0, ge=0, le=65535)

    #: Federation: this instance's name and country as the handshake announces them to peers.
    instance_name: str = Field(default="federange", max_length=63)
    instance_country: str = Field(default="", max_length=2)
    #: How often the ranges peers publish to us are imported again (and peer bookings reconciled).
    federation_sync_interval_seconds: float = Field(default=60.0, gt=0)
    #: Every call to a peer is bounded by this many seconds.
    federation_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: A hub that died while taking peer holds releases them this long after it started to.
    federation_abort_after_seconds: float = Field(default=60.0, ge=1)
    #: TLS on `federange api` and `federange server`: the server's certificate (PEM, chain after it) and
    #: private key files (both or neither; none: plain HTTP, e.g. behind a TLS-terminating ingress).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    #: Mutual TLS: every client must present a certificate this CA (PEM file) signed, or the handshake
    #: fails (federation peers, and every other client of this listener too). Needs the two above.
    tls_client_ca_file: str = ""

    @model_validator(mode="after")
    def _tls_complete(self) -> Settings:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("FEDERANGE_TLS_CERT_FILE and FEDERANGE_TLS_KEY_FILE go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError("FEDERANGE_TLS_CLIENT_CA_FILE needs FEDERANGE_TLS_CERT_FILE and _KEY_FILE")
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'federange.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")
