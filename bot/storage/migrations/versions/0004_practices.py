"""practices: check-ins, appreciations, "you" time, agreement authors

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.add_column(sa.Column("author_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("spectrum", sa.Float(), nullable=False),
        sa.Column("leaning", sa.String(32), nullable=False),
        sa.Column("autonomy", sa.Integer(), nullable=False),
        sa.Column("competence", sa.Integer(), nullable=False),
        sa.Column("relatedness", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checkin_partner_id", "checkin", ["partner_id"])
    op.create_table(
        "appreciation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appreciation_couple_id", "appreciation", ["couple_id"])
    op.create_index("ix_appreciation_author_id", "appreciation", ["author_id"])
    op.create_table(
        "metime",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(500), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("tell_partner", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_metime_partner_id", "metime", ["partner_id"])
    op.create_index("ix_metime_couple_id", "metime", ["couple_id"])
    op.create_index("ix_metime_at", "metime", ["at"])


def downgrade() -> None:
    op.drop_table("metime")
    op.drop_table("appreciation")
    op.drop_table("checkin")
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("author_id")
