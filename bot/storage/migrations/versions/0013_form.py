"""form: how a person is addressed in a gendered language (m, f, n; none until chosen)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("form", sa.String(1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("form")
