"""Connector secrets sealed by schema: move every schema-marked value stored in clear into the sealed part

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00

Until 0006, only top-level config fields with secret-looking names were sealed (`ranges.connector_secrets`,
a Fernet token over {field name: value}); an Ansible range's `files` (SSH keys), its inventory passwords
at any depth and its `extra_vars` passwords sat in clear in `ranges.connector_config`. From here on the
sealed part is keyed by secret path (connectors.secrets.path_text) and holds every value the kind's config
schema marks secret (connectors.schema, through connectors.registry). For each range this migration finds
the marked values still in the public config (whether or not the rest of the config is valid), takes them
out and seals them with the ones sealed before (re-keyed by path: a top-level name is a one-part path).
A range of a kind no installed connector declares is left as it is, with a warning.

The key. Sealing needs FEDERANGE_SECRET_KEY, found as every Federange process finds it: from the Settings
that `orchestrator.db.migrate.upgrade` hands over (`federange db upgrade`, `federange server`, the demo),
else from the environment (FEDERANGE_SECRET_KEY; on SQLite without it, the key file `secret.key` in
FEDERANGE_DATA_DIR, created there if missing, as at start-up); PostgreSQL without a key is refused with
the fix. The key is read only when a row has secrets (sealed or in clear): an empty database migrates
without one.

Downgrade puts every value 0006 cannot read back where 0006 kept it: nested secrets return to the public
config in clear (0006 could only seal top-level fields), top-level ones stay sealed by name.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from connectors import registry
from connectors.secrets import merged, parse_path, path_text, split
from orchestrator.db.crypto import Cipher, resolve_secret_key
from orchestrator.settings import Settings

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

RANGES = sa.table(
    "ranges",
    sa.column("id", sa.String),
    sa.column("slug", sa.String),
    sa.column("connector_kind", sa.String),
    sa.column("connector_config", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    sa.column("connector_secrets", sa.Text),
)


def _cipher() -> Cipher:
    settings = context.config.attributes.get("settings") or Settings()
    dialect = op.get_bind().dialect.name
    key = resolve_secret_key(
        configured=settings.secret_key, is_sqlite=dialect == "sqlite", data_dir=settings.data_dir
    )
    return Cipher(key)


def upgrade() -> None:
    bind = op.get_bind()
    cipher: Cipher | None = None
    for row in bind.execute(sa.select(RANGES)).all():
        config = dict(row.connector_config or {})
        try:
            in_clear = registry.config_secret_paths(row.connector_kind, config)
        except registry.UnknownConnectorKind:
            log.warning("range %s: connector kind '%s' is not installed; its config is left as it is",
                        row.slug, row.connector_kind)
            continue
        if not in_clear and not row.connector_secrets:
            continue
        cipher = cipher or _cipher()
        sealed = {path_text((name,)): value for name, value in cipher.open(row.connector_secrets).items()}
        public, moved = split(config, in_clear)
        sealed.update({path_text(path): value for path, value in moved.items()})
        bind.execute(
            RANGES.update()
            .where(RANGES.c.id == row.id)
            .values(connector_config=public, connector_secrets=cipher.seal(sealed))
        )
        if moved:
            log.info("range %s: %d secret value(s) moved out of the public config and sealed",
                     row.slug, len(moved))


def downgrade() -> None:
    bind = op.get_bind()
    cipher: Cipher | None = None
    for row in bind.execute(sa.select(RANGES)).all():
        if not row.connector_secrets:
            continue
        cipher = cipher or _cipher()
        paths = {parse_path(text): value for text, value in cipher.open(row.connector_secrets).items()}
        top = {str(path[0]): value for path, value in paths.items() if len(path) == 1}
        nested = {path: value for path, value in paths.items() if len(path) > 1}
        public = merged(dict(row.connector_config or {}), nested)
        bind.execute(
            RANGES.update()
            .where(RANGES.c.id == row.id)
            .values(connector_config=public, connector_secrets=cipher.seal(top))
        )
