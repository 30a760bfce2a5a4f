"""Migrations create the schema from empty on both backends, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.db.tables import Base
from orchestrator.domain.errors import NotReady
from orchestrator.settings import Settings
from orchestrator.wiring import build


def test_upgrade_from_empty_and_models_match(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == []
        migrate.upgrade(engine)  # idempotent
    finally:
        engine.dispose()


def test_unmigrated_database_is_refused_with_the_fix(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret_key="k" * 32)
    with pytest.raises(NotReady, match=r"run `federange db upgrade`"):
        build(settings)


def test_postgres_without_secret_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", data_dir=tmp_path)
    with pytest.raises(NotReady, match="FEDERANGE_SECRET_KEY is not set"):
        build(settings)


def test_sqlite_generates_its_key_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    first = build(Settings(database_url=url, data_dir=tmp_path))
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    sealed = first.cipher.seal({"token": "abc"})
    first.close()
    second = build(Settings(database_url=url, data_dir=tmp_path))
    assert second.cipher.open(sealed) == {"token": "abc"}
    second.close()
