"""production: delivery lanes, shared rate limits, inbound flood control

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_lanes',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('lease_owner', sa.String(length=80), nullable=False),
    sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_send_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_until', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('channel', 'chat_id', name=op.f('pk_outbox_lanes'))
    )
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('next_send_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_until', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits'))
    )
    op.create_table('inbound_rates',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('next_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warned_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('channel', 'external_id', name=op.f('pk_inbound_rates'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_lane', ['channel', 'chat_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_lane')
    op.drop_table('inbound_rates')
    op.drop_table('rate_limits')
    op.drop_table('outbox_lanes')
