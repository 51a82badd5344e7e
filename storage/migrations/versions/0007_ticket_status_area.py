"""tickets by status, community and area: a supervisor's open tickets without a community's history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index leads with status, so it serves every query the old one did.
    op.create_index('ix_tickets_status_area', 'tickets', ['status', 'community', 'area'])
    op.drop_index('ix_tickets_status', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_tickets_status', 'tickets', ['status'])
    op.drop_index('ix_tickets_status_area', table_name='tickets')
