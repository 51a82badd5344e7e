"""privacy: when a resident was erased at their request, and who among the staff saw contact details

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'contact_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('viewer_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('what', sa.String(length=20), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_contact_views_ticket_id_tickets'),
        sa.ForeignKeyConstraint(['viewer_id'], ['people.id'], name='fk_contact_views_viewer_id_people'),
        sa.PrimaryKeyConstraint('id', name='pk_contact_views'),
    )
    op.create_index('ix_contact_views_at', 'contact_views', ['at'])
    op.create_index('ix_contact_views_ticket_at', 'contact_views', ['ticket_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_contact_views_ticket_at', table_name='contact_views')
    op.drop_index('ix_contact_views_at', table_name='contact_views')
    op.drop_table('contact_views')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
