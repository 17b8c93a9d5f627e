"""together: planned time for the two of you, reminded and reviewed with both

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metime") as batch:
        batch.add_column(
            sa.Column("together", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("metime") as batch:
        batch.drop_column("together")
