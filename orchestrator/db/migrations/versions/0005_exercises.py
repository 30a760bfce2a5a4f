"""exercises, instances, stages, events, range health

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:41:16.784639
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exercises',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_organisation_id', sa.String(length=36), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('scenario_name', sa.String(length=63), nullable=False),
    sa.Column('scenario_version', sa.String(length=64), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lead_seconds', sa.Integer(), nullable=False),
    sa.Column('warn_seconds', sa.Integer(), nullable=False),
    sa.Column('constraints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('cancelled_by', sa.String(length=200), nullable=False),
    sa.Column('plan', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['organisations.id'], name=op.f('fk_exercises_owner_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercises'))
    )
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.create_index('ix_exercises_owner_status', ['owner_organisation_id', 'status'], unique=False)

    op.create_table('exercise_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('exercise_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_events_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_events'))
    )
    with op.batch_alter_table('exercise_events', schema=None) as batch_op:
        batch_op.create_index('ix_exercise_events_exercise_at', ['exercise_id', 'at'], unique=False)

    op.create_table('exercise_instances',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('exercise_id', sa.String(length=36), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('team_organisation', sa.String(length=200), nullable=False),
    sa.Column('team_country', sa.String(length=2), nullable=False),
    sa.Column('range_id', sa.String(length=36), nullable=False),
    sa.Column('booking_id', sa.String(length=36), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('stage_reason', sa.Text(), nullable=False),
    sa.Column('failed_stage', sa.String(length=16), nullable=True),
    sa.Column('endpoints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('torn_down_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_instances_exercise_id_exercises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['range_id'], ['ranges.id'], name=op.f('fk_exercise_instances_range_id_ranges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_instances'))
    )
    with op.batch_alter_table('exercise_instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_instances_exercise_id'), ['exercise_id'], unique=False)
        batch_op.create_index('ix_instances_range_stage', ['range_id', 'stage'], unique=False)

    op.create_table('range_health',
    sa.Column('range_id', sa.String(length=36), nullable=False),
    sa.Column('healthy', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('observed_free', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('observed_total', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('probed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['range_id'], ['ranges.id'], name=op.f('fk_range_health_range_id_ranges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('range_id', name=op.f('pk_range_health'))
    )
    op.create_table('instance_stages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.String(length=20), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['exercise_instances.id'], name=op.f('fk_instance_stages_instance_id_exercise_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_stages'))
    )
    with op.batch_alter_table('instance_stages', schema=None) as batch_op:
        batch_op.create_index('ix_instance_stages_instance', ['instance_id', 'seq'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instance_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_stages_instance')

    op.drop_table('instance_stages')
    op.drop_table('range_health')
    with op.batch_alter_table('exercise_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_range_stage')
        batch_op.drop_index(batch_op.f('ix_exercise_instances_exercise_id'))

    op.drop_table('exercise_instances')
    with op.batch_alter_table('exercise_events', schema=None) as batch_op:
        batch_op.drop_index('ix_exercise_events_exercise_at')

    op.drop_table('exercise_events')
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_index('ix_exercises_owner_status')

    op.drop_table('exercises')
