"""figures and schedules: where a ticket came from, tickets by when filed, scheduled jobs keyed once

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='', nullable=False))
    # A period's tickets, of one community or of all (dispatch/figures); the second covers the count of
    # recurring faults (place and category over 90 days).
    op.create_index('ix_tickets_community_created', 'tickets', ['community', 'created_at'])
    op.create_index(
        'ix_tickets_created', 'tickets', ['created_at', 'community', 'building', 'unit', 'room', 'category']
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=120), nullable=True))
    # One row per occurrence of a scheduled job, however many workers write it (dispatch/schedules.py).
    op.create_index('ix_timers_key', 'timers', ['key'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_timers_key', table_name='timers')
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('key')
    op.drop_index('ix_tickets_created', table_name='tickets')
    op.drop_index('ix_tickets_community_created', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('source')
