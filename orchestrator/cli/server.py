"""Server-side commands: run the service, migrate the database, bootstrap the first admin."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING

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


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _services() -> Services:
    from orchestrator.wiring import build

    try:
        return build(Settings())
    except FederangeError as exc:
        raise _fail(exc) from exc


def api(
    host: str | None = typer.Option(None, help="Interface to listen on (FEDERANGE_HOST)"),
    port: int | None = typer.Option(None, help="Port (FEDERANGE_PORT)"),
) -> None:
    """Run the stateless API only (scale it out; run `federange scheduler` beside it)."""
    import uvicorn

    from orchestrator.api.app import create_app

    _logging()
    services = _services()
    try:
        uvicorn.run(
            create_app(services),
            host=host or services.settings.host,
            port=port or services.settings.port,
            log_level="info",
        )
    finally:
        services.close()


def scheduler() -> None:
    """Run the scheduler only: due actions, hold expiry, range probes (safe with several replicas)."""
    from orchestrator.scheduler.runner import SchedulerRunner

    _logging()
    services = _services()
    runner = SchedulerRunner(services)
    runner.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        runner.shutdown()
        services.close()


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (FEDERANGE_HOST, default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (FEDERANGE_PORT, default 8471)"),
    migrate_first: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Upgrade the embedded SQLite database before starting"
    ),
) -> None:
    """Run the API and the scheduler in one process (the embedded default: SQLite in your data dir)."""
    import uvicorn

    from orchestrator.api.app import create_app
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine
    from orchestrator.scheduler.runner import SchedulerRunner
    from orchestrator.wiring import build

    _logging()
    settings = Settings()
    if migrate_first and settings.is_sqlite:
        engine = make_engine(settings.resolved_database_url())
        migrate.upgrade(engine, settings=settings)
        engine.dispose()
    try:
        services = build(settings)
    except FederangeError as exc:
        raise _fail(exc) from exc
    runner = SchedulerRunner(services)
    runner.start()
    try:
        uvicorn.run(
            create_app(services), host=host or settings.host, port=port or settings.port, log_level="info"
        )
    finally:
        runner.shutdown()
        services.close()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Create or upgrade the schema of the database named by FEDERANGE_DATABASE_URL."""
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine

    settings = Settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.upgrade(engine, revision, settings=settings)
        output.console.print(
            f"database {engine.url.render_as_string(hide_password=True)} is at revision "
            f"{migrate.current_revision(engine)}"
        )
    finally:
        engine.dispose()


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
    output.errors.print("[green]Admin token issued.[/] It is shown once; export it as FEDERANGE_TOKEN:")
    output.console.print(issued.plaintext)
