"""wechat quota: what each follower's last message or click allows in customer-service messages

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-06 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models


revision: str = '0014'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wechat_quotas',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_used', sa.Integer(), nullable=False),
    sa.Column('event_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('event_used', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'chat_id', name=op.f('pk_wechat_quotas'))
    )


def downgrade() -> None:
    op.drop_table('wechat_quotas')
