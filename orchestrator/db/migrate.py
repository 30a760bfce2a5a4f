"""Alembic, driven from code: upgrade, and the start-up check that refuses an unmigrated database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from orchestrator.domain.errors import NotReady
from orchestrator.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _migrating(engine: Engine, settings: Settings | None) -> Iterator[Config]:
    """One transaction for the whole migration. On SQLite, foreign keys are not enforced while it runs
    (a table rebuilt by a batch migration is dropped and renamed under the rows that reference it) and
    are checked once at the end: a violation left behind rolls everything back."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # on the driver's connection: outside any transaction, where SQLite honours it
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                config.attributes["settings"] = settings
                yield config
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head", *, settings: Settings | None = None) -> None:
    """Upgrade the schema to `revision`. Data migrations that need the secret key (0010 re-seals
    connector secrets) take it from `settings`, or else from the environment (see 0010)."""
    with _migrating(engine, settings) as config:
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str, *, settings: Settings | None = None) -> None:
    """Downgrade the schema to `revision` (for operators rolling back, and the migration tests)."""
    with _migrating(engine, settings) as config:
        command.downgrade(config, revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_migrated(engine: Engine) -> None:
    """Raise NotReady with the command to run when the schema is not at the code's revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no Federange schema" if current is None else f"is at revision {current}"
        raise NotReady(
            f"the database {where} {state}, this Federange needs revision {head}: "
            f"run `federange db upgrade` (with the same FEDERANGE_DATABASE_URL) first"
        )
