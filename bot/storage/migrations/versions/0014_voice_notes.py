"""voice notes: the queue of notes to hear, and a heard note's transcript until its speaker
chooses "Use this" or "Type it instead"

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voicenote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(64), nullable=False),
        sa.Column("language_code", sa.String(16), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.Column("in_group", sa.Boolean(), nullable=False),
        sa.Column("file_id", sa.String(256), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("turn", TS, nullable=False),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("transcript", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("update_id"),
    )
    op.create_index("ix_voicenote_person_id", "voicenote", ["person_id"])
    op.create_index("ix_voicenote_turn", "voicenote", ["turn"])


def downgrade() -> None:
    op.drop_index("ix_voicenote_turn", "voicenote")
    op.drop_index("ix_voicenote_person_id", "voicenote")
    op.drop_table("voicenote")
