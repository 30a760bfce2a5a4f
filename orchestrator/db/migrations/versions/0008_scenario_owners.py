"""scenarios are owned: organisation handles, owner-scoped versions, sharing, exercises pinned by digest

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00

- organisations get a unique `handle` (what names them in `<owner>/<name>@<version>`), derived here from
  the name the way the catalogue derives it (lower-case letters and digits, other runs as '-'), made
  unique with a numeric suffix where two names fold to the same handle;
- an uploaded version is unique per owner, not globally (the same name in two organisations is two
  scenarios); `scenario_shares` records what an owner shared with whom;
- an exercise records its scenario's owner and the digest of the document it booked. Rows made before
  this revision keep an empty digest (nothing was pinned then); their owner is the uploading
  organisation of a matching upload, else the library.
"""
from __future__ import annotations

import re

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _handle(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower().encode("ascii", "ignore").decode()).strip("-")
    return cleaned[:40].rstrip("-") or "org"


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("handle", sa.String(length=40), nullable=True))
    orgs = sa.table("organisations", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("handle", sa.String))
    taken = {"federange"}
    handles: dict[str, str] = {}
    for org in connection.execute(sa.select(orgs.c.id, orgs.c.name).order_by(orgs.c.name, orgs.c.id)).all():
        base = _handle(org.name)
        handle, n = base, 1
        while handle in taken:
            n += 1
            handle = f"{base[: 40 - len(str(n)) - 1]}-{n}"
        taken.add(handle)
        handles[org.id] = handle
        connection.execute(orgs.update().where(orgs.c.id == org.id).values(handle=handle))
    with op.batch_alter_table("organisations") as batch:
        batch.alter_column("handle", existing_type=sa.String(length=40), nullable=False)
        batch.create_unique_constraint(batch.f("uq_organisations_handle"), ["handle"])

    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_constraint("uq_scenario_versions_name_version", type_="unique")
        batch.create_unique_constraint(
            "uq_scenario_versions_organisation_id_name_version", ["organisation_id", "name", "version"]
        )
    op.create_table(
        "scenario_shares",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("shared_with", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_scenario_shares_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_shares")),
        sa.UniqueConstraint(
            "organisation_id", "name", "shared_with", name="uq_scenario_shares_organisation_id_name_shared_with"
        ),
    )
    with op.batch_alter_table("scenario_shares") as batch:
        batch.create_index(batch.f("ix_scenario_shares_shared_with"), ["shared_with"], unique=False)

    with op.batch_alter_table("exercises") as batch:
        batch.add_column(sa.Column("scenario_owner", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("scenario_digest", sa.String(length=64), nullable=True))
    exercises = sa.table(
        "exercises",
        sa.column("id", sa.String),
        sa.column("owner_organisation_id", sa.String),
        sa.column("scenario_name", sa.String),
        sa.column("scenario_version", sa.String),
        sa.column("scenario_owner", sa.String),
        sa.column("scenario_digest", sa.String),
    )
    uploads = sa.table(
        "scenario_versions",
        sa.column("organisation_id", sa.String),
        sa.column("name", sa.String),
        sa.column("version", sa.String),
    )
    uploaded = {
        (r.name, r.version): r.organisation_id
        for r in connection.execute(sa.select(uploads.c.organisation_id, uploads.c.name, uploads.c.version)).all()
    }
    for row in connection.execute(
        sa.select(exercises.c.id, exercises.c.scenario_name, exercises.c.scenario_version)
    ).all():
        uploader = uploaded.get((row.scenario_name, row.scenario_version))
        owner = handles.get(uploader, "federange") if uploader else "federange"
        connection.execute(
            exercises.update().where(exercises.c.id == row.id).values(scenario_owner=owner, scenario_digest="")
        )
    with op.batch_alter_table("exercises") as batch:
        batch.alter_column("scenario_owner", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("scenario_digest", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("exercises") as batch:
        batch.drop_column("scenario_digest")
        batch.drop_column("scenario_owner")
    with op.batch_alter_table("scenario_shares") as batch:
        batch.drop_index(batch.f("ix_scenario_shares_shared_with"))
    op.drop_table("scenario_shares")
    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_constraint("uq_scenario_versions_organisation_id_name_version", type_="unique")
        batch.create_unique_constraint("uq_scenario_versions_name_version", ["name", "version"])
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint(batch.f("uq_organisations_handle"), type_="unique")
        batch.drop_column("handle")
