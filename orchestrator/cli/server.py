"""Server-side commands: run the service, migrate the database, bootstrap the first admin."""

from __future__ import annotations

import logging
import os
import signal
import socket
import ssl
import tempfile
import threading
from typing import TYPE_CHECKING, Any

import typer

from orchestrator.cli import output
from orchestrator.domain.errors import FederangeError
from orchestrator.settings import Settings

if TYPE_CHECKING:  # the server side loads SQLAlchemy, Alembic and uvicorn: only when a command needs them
    from orchestrator.wiring import Services

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
admin_app = typer.Typer(
    help="Administration on the server machine (talks to the database directly).", no_args_is_help=True
)


def _fail(exc: FederangeError) -> typer.Exit:
    output.errors.print(f"[bold red]{exc.title}[/]: {exc.reason}")
    return typer.Exit(1)


def _logging(settings: Settings) -> None:
    """The process's log format: FEDERANGE_LOG_FORMAT, or JSON lines when the command got --json."""
    from orchestrator.cli.options import current
    from orchestrator.wiring import logs

    logs.configure(fmt="json" if current().machine else settings.log_format, level=settings.log_level)


log = logging.getLogger(__name__)

BOOTSTRAP_HINT = (
    "no admin exists yet: run `federange admin bootstrap --country XX` on this machine (same "
    "FEDERANGE_DATABASE_URL / FEDERANGE_DATA_DIR) for the first admin token, then export it as "
    "FEDERANGE_TOKEN"
)


def hint_bootstrap(services: Services) -> None:
    """Say how to get the first admin token when the database has no admin."""
    with services.uow() as uow:
        if uow.catalogue.count_admins():
            return
    log.warning(BOOTSTRAP_HINT)


def _services() -> Services:
    from orchestrator.wiring import build

    try:
        return build(Settings())
    except FederangeError as exc:
        raise _fail(exc) from exc


def _tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS arguments from FEDERANGE_TLS_*: none without a certificate; with a client CA, a
    client certificate it signed is required (mutual TLS). A file that cannot be read is said here."""
    if not settings.tls_cert_file:
        return {}
    files = [settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file]
    for path in filter(None, files):
        if not os.access(path, os.R_OK):
            output.errors.print(f"[bold red]cannot read the TLS file {path}[/]")
            raise typer.Exit(1)
    found: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    if settings.tls_client_ca_file:
        found |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return found


def _serve(app: object, *, host: str, port: int, tls: dict[str, Any], workers: int = 1) -> None:
    """Serve until SIGTERM or Ctrl-C, then return normally (exit status 0); over TLS with `tls`
    (`_tls_options`), in both the one-process and the worker-processes paths.

    uvicorn answers SIGTERM with a graceful shutdown (no new connections, requests in flight finish,
    the app's on-stop hooks run) and then raises the signal again for the handler it found; a handler
    of ours in place makes that second delivery return, so the caller's cleanup runs."""
    import uvicorn

    signal.signal(signal.SIGTERM, lambda *_: None)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_config=None, **tls)  # type: ignore[arg-type]
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        workers=workers,
        factory=True,
        log_config=None,
        **tls,
    )
    sock = _listening_socket(host, port)
    scheme = "https" if tls else "http"
    logging.getLogger(__name__).info("listening on %s://%s:%d with %d workers", scheme, host, port, workers)
    Multiprocess(config, sockets=[sock]).run()


def _listening_socket(host: str, port: int) -> socket.socket:
    """The socket the worker processes accept on, made here rather than by uvicorn's `bind_socket`.

    uvicorn (Kludex/uvicorn#3149) creates it with protocol 0; accepted sockets inherit that and asyncio
    only turns Nagle off (TCP_NODELAY) on sockets reporting IPPROTO_TCP, so every request after the
    first on a kept-alive connection waited ~40 ms for a delayed ACK. Made with IPPROTO_TCP (and
    TCP_NODELAY on the listener, which accepted sockets inherit on Linux), replies go out at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        output.errors.print(f"[bold red]cannot listen on {host}:{port}[/]: {exc}")
        raise typer.Exit(1) from exc
    sock.set_inheritable(True)
    return sock


def _exit_without_waiting(released: list[str]) -> None:
    """Actions handed back to other schedulers may still be running in this process's threads: do not
    wait for them at interpreter exit (their next claimant redoes them)."""
    if released:
        logging.shutdown()
        os._exit(0)


def api(
    host: str | None = typer.Option(None, help="Interface to listen on (FEDERANGE_HOST)"),
    port: int | None = typer.Option(None, help="Port (FEDERANGE_PORT)"),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes (each builds its own connections)"),
) -> None:
    """Run the stateless API only (scale it out; run `federange scheduler` beside it)."""
    settings = Settings()
    _logging(settings)
    tls = _tls_options(settings)
    host, port = host or settings.host, port or settings.port
    if workers > 1:
        _metrics_shared_by_workers()
        _serve("orchestrator.api.app:make_app", host=host, port=port, tls=tls, workers=workers)
        return
    from orchestrator.api.app import create_app

    services = _services()
    hint_bootstrap(services)
    try:
        _serve(create_app(services), host=host, port=port, tls=tls)
    finally:
        services.close()


def _metrics_shared_by_workers() -> None:
    """Worker processes write their metrics to files in PROMETHEUS_MULTIPROC_DIR (a fresh directory of
    this run unless set; if set it must be emptied before each start), summed by /metrics in any worker."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # orchestrator.wiring.metrics.MULTIPROCESS_ENV
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="federange-metrics-")


def _serve_scheduler_metrics(settings: Settings) -> None:
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.host)
        logging.getLogger(__name__).info(
            "scheduler metrics on http://%s:%d/metrics", settings.host, settings.metrics_port
        )


def scheduler() -> None:
    """Run the scheduler only: due actions, hold expiry, range probes (safe with several replicas).

    SIGTERM stops taking work, lets running actions finish for FEDERANGE_SHUTDOWN_GRACE_SECONDS, hands
    the rest back to other schedulers at once (no lease to wait out) and exits 0."""
    from orchestrator.scheduler.runner import SchedulerRunner

    settings = Settings()
    _logging(settings)
    services = _services()
    _serve_scheduler_metrics(settings)
    runner = SchedulerRunner(services)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.start()
    released: list[str] = []
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        released = runner.shutdown(grace=services.settings.shutdown_grace_seconds)
        services.close()
    _exit_without_waiting(released)


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (FEDERANGE_HOST, default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (FEDERANGE_PORT, default 8471)"),
    migrate_first: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Upgrade the embedded SQLite database before starting"
    ),
) -> None:
    """Run the API and the scheduler in one process (the embedded default: SQLite in your data dir)."""
    from orchestrator.api.app import create_app
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine
    from orchestrator.scheduler.runner import SchedulerRunner
    from orchestrator.wiring import build

    settings = Settings()
    _logging(settings)
    tls = _tls_options(settings)
    if migrate_first and settings.is_sqlite:
        engine = make_engine(settings.resolved_database_url())
        migrate.upgrade(engine, settings=settings)
        engine.dispose()
    try:
        services = build(settings)
    except FederangeError as exc:
        raise _fail(exc) from exc
    hint_bootstrap(services)
    runner = SchedulerRunner(services)
    released: list[str] = []

    def stop_scheduler() -> None:
        released.extend(runner.shutdown(grace=settings.shutdown_grace_seconds))

    app = create_app(services, on_start=[runner.start], on_stop=[stop_scheduler])
    try:
        _serve(app, host=host or settings.host, port=port or settings.port, tls=tls)
    finally:
        services.close()
    _exit_without_waiting(released)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Create or upgrade the schema of the database named by FEDERANGE_DATABASE_URL."""
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine

    settings = Settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.upgrade(engine, revision, settings=settings)
        database = engine.url.render_as_string(hide_password=True)
        current = migrate.current_revision(engine)
        if not output.machine({"database": database, "revision": current}):
            output.console.print(f"database {database} is at revision {current}")
    finally:
        engine.dispose()


@db_app.command("rotate-key")
def db_rotate_key() -> None:
    """Re-seal every connector secret under the current FEDERANGE_SECRET_KEY.

    Rotation: set the new key as FEDERANGE_SECRET_KEY and the old one in FEDERANGE_PREVIOUS_SECRET_KEYS
    (a JSON list), keep FEDERANGE_INSTANCE_SEED as it was, restart the processes, run this once, then remove
    the previous key everywhere.
    """
    from orchestrator.db import migrate
    from orchestrator.db.catalogue_store import reseal_connector_secrets
    from orchestrator.db.crypto import Cipher, resolve_secret_key
    from orchestrator.db.engine import make_engine

    settings = Settings()
    secret = resolve_secret_key(
        configured=settings.secret_key, is_sqlite=settings.is_sqlite, data_dir=settings.data_dir
    )
    cipher = Cipher(secret, settings.previous_secret_keys)
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.ensure_migrated(engine)
        with engine.begin() as connection:
            count = reseal_connector_secrets(connection, cipher)
    finally:
        engine.dispose()
    output.said(
        {"resealed_ranges": count},
        f"re-sealed the connector secrets of {count} range(s) under the current FEDERANGE_SECRET_KEY; "
        "FEDERANGE_PREVIOUS_SECRET_KEYS is no longer needed",
    )


@admin_app.command("bootstrap")
def bootstrap(
    organisation: str = typer.Option("Federation administration", help="Name of the admin organisation"),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-2 country of the admin organisation, e.g. BE"),
    force: bool = typer.Option(False, help="Issue another admin token even if an admin exists"),
) -> None:
    """Create the first admin token (printed once: store it)."""
    from orchestrator.wiring import build

    settings = Settings()
    try:
        services = build(settings)
        with services.uow() as uow:
            issued = services.catalogue(uow.catalogue).bootstrap_admin(
                organisation_name=organisation, country=country.upper(), force=force
            )
    except FederangeError as exc:
        raise _fail(exc) from exc
    services.close()
    if output.machine({"token": issued.plaintext, "organisation": organisation}):
        return
    output.errors.print("[green]Admin token issued.[/] It is shown once; export it as FEDERANGE_TOKEN:")
    output.console.print(issued.plaintext)
