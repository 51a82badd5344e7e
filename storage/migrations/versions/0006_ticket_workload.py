"""ticket workload indexes: a technician's open jobs, jobs today and last assignment as range scans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_tickets_technician_assigned', 'tickets', ['technician_id', 'assigned_at'])
    op.create_index('ix_tickets_technician_status', 'tickets', ['technician_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_tickets_technician_status', table_name='tickets')
    op.drop_index('ix_tickets_technician_assigned', table_name='tickets')
