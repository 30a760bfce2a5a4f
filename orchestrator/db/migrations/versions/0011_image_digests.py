"""A range's security policy can require images pinned by digest

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00

`ranges.require_image_digests`: when true, placement refuses the range to scenarios that name an image by
a tag rather than a digest (`image@sha256:...`; images a scenario builds itself are tagged by content and
count as pinned). Existing ranges keep today's behaviour (false).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ranges") as batch:
        batch.add_column(
            sa.Column("require_image_digests", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("ranges") as batch:
        batch.drop_column("require_image_digests")
