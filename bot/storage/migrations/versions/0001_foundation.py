"""foundation: couples, partners, invites, processed updates

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "couple",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("meeting_day", sa.Integer(), nullable=True),
        sa.Column("meeting_time", sa.String(5), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("group_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_chat_id"),
    )
    op.create_table(
        "invite",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("inviter_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_invite_inviter_id", "invite", ["inviter_id"])
    op.create_table(
        "processedupdate",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_table(
        "partner",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(128), nullable=False),
        sa.Column("language_code", sa.String(16), nullable=True),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("(couple_id IS NULL) = (seat IS NULL)", name="ck_partner_couple_seat"),
        sa.CheckConstraint("seat IS NULL OR seat IN (1, 2)", name="ck_partner_seat"),
        sa.ForeignKeyConstraint(["couple_id"], ["couple.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("couple_id", "seat", name="uq_partner_couple_seat"),
    )
    op.create_index("ix_partner_couple_id", "partner", ["couple_id"])


def downgrade() -> None:
    op.drop_table("partner")
    op.drop_table("processedupdate")
    op.drop_table("invite")
    op.drop_table("couple")
