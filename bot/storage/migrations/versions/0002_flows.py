"""flows: flow runs and agreements

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flowrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("active_key", sa.String(64), nullable=True),
        sa.Column("in_group", sa.Boolean(), nullable=False),
        sa.Column("break_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["couple_id"], ["couple.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
    )
    op.create_index("ix_flowrun_couple_id", "flowrun", ["couple_id"])
    op.create_index("ix_flowrun_flow_id", "flowrun", ["flow_id"])
    op.create_table(
        "agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("follow_up", sa.Date(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["couple_id"], ["couple.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["flowrun.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agreement_couple_id", "agreement", ["couple_id"])


def downgrade() -> None:
    op.drop_table("agreement")
    op.drop_table("flowrun")
