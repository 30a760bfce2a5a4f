"""catalogue: organisations, principals, tokens, ranges, maintenance, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 03:02:02.777461
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_principal_id', sa.String(length=36), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('actor_organisation_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_kind', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=36), nullable=False),
    sa.Column('range_id', sa.String(length=36), nullable=True),
    sa.Column('organisation_id', sa.String(length=36), nullable=True),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_range_id'), ['range_id'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('principals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_principals_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_principals'))
    )
    with op.batch_alter_table('principals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_principals_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('ranges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('operator_organisation_id', sa.String(length=36), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('capabilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('cpu_millicores', sa.Integer(), nullable=False),
    sa.Column('memory_mib', sa.Integer(), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('gpus', sa.Integer(), nullable=False),
    sa.Column('allowed_countries', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('allowed_organisations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('max_foreign_share', sa.Float(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('max_booking_minutes', sa.Integer(), nullable=True),
    sa.Column('min_lead_minutes', sa.Integer(), nullable=True),
    sa.Column('allow_privileged', sa.Boolean(), nullable=False),
    sa.Column('preference', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('connector_kind', sa.String(length=32), nullable=False),
    sa.Column('connector_config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('connector_secrets', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_organisation_id'], ['organisations.id'], name=op.f('fk_ranges_operator_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranges')),
    sa.UniqueConstraint('slug', name=op.f('uq_ranges_slug'))
    )
    with op.batch_alter_table('ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ranges_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_ranges_operator_organisation_id'), ['operator_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ranges_status'), ['status'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('principal_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], name=op.f('fk_api_tokens_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_principal_id'), ['principal_id'], unique=False)

    op.create_table('maintenance_windows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('range_id', sa.String(length=36), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['range_id'], ['ranges.id'], name=op.f('fk_maintenance_windows_range_id_ranges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_range_window', ['range_id', 'start', 'end'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_range_window')

    op.drop_table('maintenance_windows')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_principal_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('ranges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ranges_status'))
        batch_op.drop_index(batch_op.f('ix_ranges_operator_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_ranges_country'))

    op.drop_table('ranges')
    with op.batch_alter_table('principals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_principals_organisation_id'))

    op.drop_table('principals')
    op.drop_table('organisations')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_range_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_organisation_id'))
        batch_op.drop_index('ix_audit_at')

    op.drop_table('audit_events')
