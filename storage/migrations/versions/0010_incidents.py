"""incidents and patrols: one outage worked once, tickets found by staff

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('community', sa.String(length=40), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('declared_by', sa.Integer(), nullable=True),
        sa.Column('created_at', storage.models.base.UTCDateTime(), nullable=False),
        sa.Column('closed_at', storage.models.base.UTCDateTime(), nullable=True),
        sa.Column('eta_at', storage.models.base.UTCDateTime(), nullable=True),
        sa.Column('last_update', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['declared_by'], ['people.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id'),
    )
    op.create_index('ix_incidents_community', 'incidents', ['community'])
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=10), server_default='resident', nullable=False))
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_tickets_incident_id', ['incident_id'])
        batch_op.create_foreign_key('fk_tickets_incident_id', 'incidents', ['incident_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_incident_id', type_='foreignkey')
        batch_op.drop_index('ix_tickets_incident_id')
        batch_op.drop_column('incident_id')
        batch_op.drop_column('origin')
    op.drop_index('ix_incidents_community', table_name='incidents')
    op.drop_table('incidents')
