"""bookings and quotas

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:09:30.890293
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Must match orchestrator.db.tables.OCCUPYING_SQL (the calendar indexes hold only these bookings).
OCCUPYING = "status IN ('held', 'pending_approval', 'confirmed', 'active')"


def upgrade() -> None:
    op.create_table('organisation_quotas',
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('cpu_millicores', sa.Integer(), nullable=False),
    sa.Column('memory_mib', sa.Integer(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('gpus', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_quotas_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisation_quotas'))
    )
    op.create_table('bookings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('range_id', sa.String(length=36), nullable=False),
    sa.Column('owner_organisation_id', sa.String(length=36), nullable=False),
    sa.Column('owner_country', sa.String(length=2), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('length_class', sa.Integer(), nullable=False),
    sa.Column('cpu_millicores', sa.Integer(), nullable=False),
    sa.Column('memory_mib', sa.Integer(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('gpus', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('hold_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['organisations.id'], name=op.f('fk_bookings_owner_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['range_id'], ['ranges.id'], name=op.f('fk_bookings_range_id_ranges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('request_id', 'range_id', name='uq_bookings_request_range')
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_range_calendar', ['range_id', 'length_class', 'start'], unique=False, postgresql_where=sa.text(OCCUPYING), sqlite_where=sa.text(OCCUPYING))
        batch_op.create_index('ix_bookings_owner_calendar', ['owner_organisation_id', 'length_class', 'start'], unique=False, postgresql_where=sa.text(OCCUPYING), sqlite_where=sa.text(OCCUPYING))
        batch_op.create_index('ix_bookings_range_start', ['range_id', 'start'], unique=False)
        batch_op.create_index('ix_bookings_owner_start', ['owner_organisation_id', 'start'], unique=False)
        batch_op.create_index('ix_bookings_holds', ['hold_expires_at'], unique=False, postgresql_where=sa.text("status = 'held'"), sqlite_where=sa.text("status = 'held'"))


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_holds')
        batch_op.drop_index('ix_bookings_owner_start')
        batch_op.drop_index('ix_bookings_range_start')
        batch_op.drop_index('ix_bookings_owner_calendar')
        batch_op.drop_index('ix_bookings_range_calendar')

    op.drop_table('bookings')
    op.drop_table('organisation_quotas')
