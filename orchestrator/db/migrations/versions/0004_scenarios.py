"""scenario versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:12:12.701134
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scenario_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('uploaded_by', sa.String(length=36), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_scenario_versions_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario_versions')),
    sa.UniqueConstraint('name', 'version', name='uq_scenario_versions_name_version')
    )
    with op.batch_alter_table('scenario_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_versions_organisation_id'), ['organisation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scenario_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_versions_organisation_id'))

    op.drop_table('scenario_versions')
