"""federation: peers, publications, peer holds and the instances peers deploy here

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02 09:30:00

- `publications`: a range of this instance published to a peer organisation (kind `federation_peer`);
- `peer_instances` (home side): the instances a peer deployed on this instance's ranges, per booking;
- `peers` (hub side): other Federange instances whose published ranges this one imports, with the peer
  token sealed;
- `peer_holds` (hub side): the two-phase state of each hold taken on a peer's range for an exercise;
- `ranges.origin_peer_id`: the peer an imported range comes from (None: a range of this instance).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql



def UTCDateTime() -> sa.DateTime:  # noqa: N802 - reads like the model's column type
    return sa.DateTime(timezone=True)

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("ranges") as batch:
        batch.add_column(sa.Column("origin_peer_id", sa.String(36), nullable=True))
        batch.create_index("ix_ranges_origin_peer_id", ["origin_peer_id"])
    op.create_table(
        "publications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("range_id", sa.String(36), sa.ForeignKey("ranges.id", ondelete="CASCADE"), nullable=False),
        sa.Column("peer_organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("range_id", "peer_organisation_id", name="uq_publications_range_id_peer"),
    )
    op.create_index("ix_publications_range_id", "publications", ["range_id"])
    op.create_index("ix_publications_peer_organisation_id", "publications", ["peer_organisation_id"])
    op.create_table(
        "peer_instances",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("peer_organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("range_id", sa.String(36), sa.ForeignKey("ranges.id"), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("demand", JsonDoc, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_peer_instances_peer_range", "peer_instances", ["peer_organisation_id", "range_id"])
    op.create_index("ix_peer_instances_booking_id", "peer_instances", ["booking_id"])
    op.create_table(
        "peers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("token_sealed", sa.Text(), nullable=False),
        sa.Column("api_version", sa.String(32), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_peers_name"),
    )
    op.create_table(
        "peer_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("exercise_id", sa.String(36), nullable=False),
        sa.Column("peer_id", sa.String(36), sa.ForeignKey("peers.id"), nullable=False),
        sa.Column("range_id", sa.String(36), sa.ForeignKey("ranges.id"), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("remote_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("demand", JsonDoc, nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("exercise_id", "range_id", name="uq_peer_holds_exercise_id_range_id"),
    )
    op.create_index("ix_peer_holds_exercise_id", "peer_holds", ["exercise_id"])
    op.create_index("ix_peer_holds_state", "peer_holds", ["state"])


def downgrade() -> None:
    op.drop_table("peer_holds")
    op.drop_table("peers")
    op.drop_table("peer_instances")
    op.drop_table("publications")
    with op.batch_alter_table("ranges") as batch:
        batch.drop_index("ix_ranges_origin_peer_id")
        batch.drop_column("origin_peer_id")
