"""Warm pools of ready instances for researcher environments

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 09:30:00

`warm_pools`: one row per pool, keyed by the id of the exercise of kind `pool` that holds its booking and
instances, with the range it sits on and how many ready instances it keeps (min) within its booking (max).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warm_pools",
        sa.Column("exercise_id", sa.String(36), nullable=False),
        sa.Column("range_id", sa.String(36), nullable=False),
        sa.Column("min_ready", sa.Integer(), nullable=False),
        sa.Column("max_ready", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name="fk_warm_pools_exercise_id_exercises",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["range_id"], ["ranges.id"], name="fk_warm_pools_range_id_ranges"),
        sa.PrimaryKeyConstraint("exercise_id", name="pk_warm_pools"),
    )
    op.create_index("ix_warm_pools_range_id", "warm_pools", ["range_id"])


def downgrade() -> None:
    op.drop_index("ix_warm_pools_range_id", table_name="warm_pools")
    op.drop_table("warm_pools")
