"""planned maintenance: a planned ticket's asset and occurrence (unique), and a ticket's parent

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('plan_key', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        # One ticket per occurrence of an asset's schedule, however many workers open it.
        batch.create_unique_constraint('uq_tickets_plan_key', ['plan_key'])
        batch.create_foreign_key('fk_tickets_parent_id_tickets', 'tickets', ['parent_id'], ['id'])
    op.create_index('ix_tickets_parent_id', 'tickets', ['parent_id'])


def downgrade() -> None:
    op.drop_index('ix_tickets_parent_id', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint('fk_tickets_parent_id_tickets', type_='foreignkey')
        batch.drop_constraint('uq_tickets_plan_key', type_='unique')
        batch.drop_column('parent_id')
        batch.drop_column('plan_key')
