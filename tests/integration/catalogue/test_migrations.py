"""Migrations create the schema from empty on both backends, match the models, and move data right."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, select

from orchestrator.db import migrate
from orchestrator.db.crypto import Cipher
from orchestrator.db.engine import make_engine
from orchestrator.db.tables import Base, OrganisationRow, RangeRow
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


def test_the_provisioner_is_loaded_by_name_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with pytest.raises(
        NotReady, match=r"FEDERANGE_PROVISIONER: unknown provisioner 'salt' \(known: ansible\)"
    ):
        build(Settings(database_url=url, data_dir=tmp_path, provisioner="salt"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    services = build(Settings(database_url=url, data_dir=tmp_path))
    try:
        assert type(services.provisioner).__name__ == "AnsibleProvisioner"
        assert services.provisioner.unavailable() == ""  # the test extra installs ansible-runner
    finally:
        services.close()


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


LATER_COLUMNS = {"researcher_bookings", "require_image_digests", "origin_peer_id"}
#: The ranges table as 0006 had it (the model's later columns, with their defaults, must not be used).
RANGES_AT_0006 = sa.table(
    "ranges", *(sa.column(c.name, c.type) for c in RangeRow.__table__.c if c.name not in LATER_COLUMNS)
)


def _old_range(conn: Connection, *, slug: str, kind: str, config: dict[str, Any], sealed: str) -> None:
    """A range row as 0001-0006 wrote it: top-level secret-looking fields sealed by name, the rest clear."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    conn.execute(
        insert(RANGES_AT_0006).values(
            id=str(uuid.uuid4()),
            slug=slug,
            name=slug,
            description="",
            operator_organisation_id="org-1",
            country="EE",
            capabilities=[],
            cpu_millicores=1000,
            memory_mib=1024,
            slots=2,
            gpus=0,
            allowed_countries=[],
            allowed_organisations=[],
            max_foreign_share=1.0,
            approval_required=False,
            allow_privileged=False,
            preference=50,
            status="active",
            connector_kind=kind,
            connector_config=config,
            connector_secrets=sealed,
            created_at=now,
            updated_at=now,
        )
    )


OLD_ANSIBLE = {
    "playbook_dir": "/srv/vm-range",
    "files": {"id_ed25519": "OLD-SSH-KEY"},
    "inventory": {
        "all": {
            "vars": {"ansible_become_pass": "OLD-BECOME"},
            "hosts": {"web": {"ansible_password": "OLD-WEB-PW", "ansible_port": 22}},
            "children": {"lab": {"hosts": {"h": {"ansible_ssh_pass": "OLD-SSH-PW"}}}},
        }
    },
    "extra_vars": {"passphrase": "OLD-PASSPHRASE", "apikey": "OLD-APIKEY", "range_name": "lab"},
}
OLD_VALUES = ("OLD-SSH-KEY", "OLD-BECOME", "OLD-WEB-PW", "OLD-SSH-PW", "OLD-PASSPHRASE", "OLD-APIKEY")


@pytest.mark.parametrize("key_from", ["settings", "environment"])
def test_0010_reseals_what_older_revisions_stored_in_clear(
    database_url: str, tmp_path: Path, key_from: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "migration-test-key-0123456789abcdef"
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret_key=key)
    cipher = Cipher(key)
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                insert(OrganisationRow.__table__).values(
                    id="org-1", name="RIA", country="EE", kind="range_operator", created_at=datetime.now(UTC)
                )
            )
            _old_range(conn, slug="vm", kind="ansible", config=OLD_ANSIBLE, sealed="")
            _old_range(
                conn,
                slug="k8s",
                kind="kubernetes",
                config={"namespace_prefix": "fr"},
                sealed=cipher.seal({"kubeconfig": "OLD-KUBECONFIG"}),
            )
            _old_range(conn, slug="gone", kind="vmware", config={"password": "LEFT-ALONE"}, sealed="")
        if key_from == "settings":
            migrate.upgrade(engine, settings=settings)
        else:
            monkeypatch.setenv("FEDERANGE_SECRET_KEY", key)
            migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            stored = {r.slug: r for r in conn.execute(select(RangeRow.__table__))}
        in_clear = json.dumps(stored["vm"].connector_config)
        assert not any(value in in_clear for value in OLD_VALUES)
        assert stored["vm"].connector_config["inventory"]["all"]["hosts"]["web"] == {"ansible_port": 22}
        assert stored["vm"].connector_config["extra_vars"] == {"range_name": "lab"}
        assert stored["gone"].connector_config == {"password": "LEFT-ALONE"}  # no schema to go by
        assert set(cipher.open(stored["vm"].connector_secrets)) == {
            "files.id_ed25519",
            "inventory.all.vars.ansible_become_pass",
            "inventory.all.hosts.web.ansible_password",
            "inventory.all.children.lab.hosts.h.ansible_ssh_pass",
            "extra_vars.passphrase",
            "extra_vars.apikey",
        }
    finally:
        engine.dispose()
    services = build(settings)
    try:
        with services.uow() as uow:
            vm = uow.catalogue.get_range("vm")
            k8s = uow.catalogue.get_range("k8s")
        assert vm is not None and k8s is not None
        assert vm.connector.merged() == OLD_ANSIBLE  # nothing lost: the connector gets it all back
        assert k8s.connector.secrets == {("kubeconfig",): "OLD-KUBECONFIG"}
    finally:
        services.close()


def test_0010_downgrade_gives_0006_what_it_can_read(database_url: str, tmp_path: Path) -> None:
    key = "migration-test-key-0123456789abcdef"
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret_key=key)
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                insert(OrganisationRow.__table__).values(
                    id="org-1", name="RIA", country="EE", kind="range_operator", created_at=datetime.now(UTC)
                )
            )
            _old_range(conn, slug="vm", kind="ansible", config=OLD_ANSIBLE, sealed="")
        migrate.upgrade(engine, settings=settings)
        migrate.downgrade(engine, "0006", settings=settings)
        with engine.connect() as conn:
            row = conn.execute(select(RANGES_AT_0006)).one()
        assert row.connector_config == OLD_ANSIBLE  # 0006 sealed no nested value: back where it was
        assert row.connector_secrets == ""
    finally:
        engine.dispose()
