"""matters (报事): a ticket's kind, the matter's kind and department, its handler, anonymity, who it is about

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=10), server_default='repair', nullable=False))
        batch.add_column(sa.Column('matter_kind', sa.String(length=20), server_default='', nullable=False))
        batch.add_column(sa.Column('department', sa.String(length=40), server_default='', nullable=False))
        batch.add_column(sa.Column('handler_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('anonymous', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('about_staff_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_tickets_handler_id_people', 'people', ['handler_id'], ['id'])
        batch.create_foreign_key('fk_tickets_about_staff_id_people', 'people', ['about_staff_id'], ['id'])
    op.create_index('ix_tickets_department_status', 'tickets', ['department', 'status'])


def downgrade() -> None:
    op.drop_index('ix_tickets_department_status', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint('fk_tickets_about_staff_id_people', type_='foreignkey')
        batch.drop_constraint('fk_tickets_handler_id_people', type_='foreignkey')
        batch.drop_column('about_staff_id')
        batch.drop_column('anonymous')
        batch.drop_column('handler_id')
        batch.drop_column('department')
        batch.drop_column('matter_kind')
        batch.drop_column('kind')
