"""run wake: a flow's `wait:` step moves on by itself at this moment

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flowrun") as batch:
        batch.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_flowrun_wake_at", ["wake_at"])


def downgrade() -> None:
    with op.batch_alter_table("flowrun") as batch:
        batch.drop_index("ix_flowrun_wake_at")
        batch.drop_column("wake_at")
