"""nudges: weekly prompt times, quiet hours, flow reminders, the nudge log, the outbox

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("couple") as batch:
        batch.add_column(sa.Column("next_prompt_at", TS, nullable=True))
        batch.add_column(sa.Column("snooze_at", TS, nullable=True))
        batch.create_index("ix_couple_next_prompt_at", ["next_prompt_at"])
        batch.create_index("ix_couple_snooze_at", ["snooze_at"])
    with op.batch_alter_table("partner") as batch:
        batch.add_column(
            sa.Column("quiet_start", sa.String(5), nullable=False, server_default="22:00")
        )
        batch.add_column(
            sa.Column("quiet_end", sa.String(5), nullable=False, server_default="08:00")
        )
    with op.batch_alter_table("flowrun") as batch:
        batch.add_column(sa.Column("remind_at", TS, nullable=True))
        batch.add_column(sa.Column("reminded_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("expires_at", TS, nullable=True))
        batch.create_index("ix_flowrun_remind_at", ["remind_at"])
        batch.create_index("ix_flowrun_expires_at", ["expires_at"])
    op.create_table(
        "nudgelog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("couple_id", "kind", "slot", name="uq_nudge_slot"),
    )
    op.create_index("ix_nudgelog_couple_id", "nudgelog", ["couple_id"])
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("deliver_at", TS, nullable=False),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outboxmessage_chat_id", "outboxmessage", ["chat_id"])
    op.create_index("ix_outboxmessage_couple_id", "outboxmessage", ["couple_id"])
    op.create_index("ix_outboxmessage_deliver_at", "outboxmessage", ["deliver_at"])


def downgrade() -> None:
    op.drop_table("outboxmessage")
    op.drop_table("nudgelog")
    with op.batch_alter_table("flowrun") as batch:
        batch.drop_index("ix_flowrun_expires_at")
        batch.drop_index("ix_flowrun_remind_at")
        batch.drop_column("expires_at")
        batch.drop_column("reminded_step")
        batch.drop_column("remind_at")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("quiet_end")
        batch.drop_column("quiet_start")
    with op.batch_alter_table("couple") as batch:
        batch.drop_index("ix_couple_snooze_at")
        batch.drop_index("ix_couple_next_prompt_at")
        batch.drop_column("snooze_at")
        batch.drop_column("next_prompt_at")
