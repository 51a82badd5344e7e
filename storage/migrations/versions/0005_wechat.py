"""wechat: shared access tokens, per-chat choices, WeCom template cards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wechat_tokens',
    sa.Column('app', sa.String(length=80), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app', name=op.f('pk_wechat_tokens'))
    )
    op.create_table('wechat_chats',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'chat_id', name=op.f('pk_wechat_chats'))
    )
    op.create_table('wecom_cards',
    sa.Column('task_id', sa.String(length=128), nullable=False),
    sa.Column('card_id', sa.String(length=128), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('response_code', sa.Text(), nullable=False),
    sa.Column('code_used', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_wecom_cards'))
    )
    with op.batch_alter_table('wecom_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_cards_card_id'), ['card_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wecom_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_cards_card_id'))
    op.drop_table('wecom_cards')
    op.drop_table('wechat_chats')
    op.drop_table('wechat_tokens')
