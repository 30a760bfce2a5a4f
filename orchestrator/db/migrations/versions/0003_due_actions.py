"""due actions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 03:11:03.017928
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('due_actions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('object_kind', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=36), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_due_actions'))
    )
    with op.batch_alter_table('due_actions', schema=None) as batch_op:
        batch_op.create_index('ix_due_actions_object', ['object_kind', 'object_id'], unique=False)
        batch_op.create_index('ix_due_actions_pending', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('due_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_due_actions_pending')
        batch_op.drop_index('ix_due_actions_object')

    op.drop_table('due_actions')
