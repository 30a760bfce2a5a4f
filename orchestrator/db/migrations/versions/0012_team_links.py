"""Team links: a team's own link to its access page

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:40:00

`team_links`: per team instance, the SHA-256 digest of a random token the exercise's trainer hands to the
team (shown once, like an API token); a new link revokes the instance's earlier ones.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_links",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "instance_id",
            sa.String(20),
            sa.ForeignKey("exercise_instances.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_team_links_instance_id", "team_links", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_team_links_instance_id", table_name="team_links")
    op.drop_table("team_links")
