"""safety: when a person was last shown help, their next-day check, quiet pause, quiet leave

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("safety_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("safety_check_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("hushed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("couple_ended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_partner_safety_check_at", ["safety_check_at"])


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.drop_index("ix_partner_safety_check_at")
        batch.drop_column("couple_ended")
        batch.drop_column("hushed")
        batch.drop_column("safety_check_at")
        batch.drop_column("safety_at")
