"""timers: the clock's wake-ups (the weekly recap, start small, the onboarding card and
the daily retention), one row each instead of scans of every couple

Existing couples get their wake-ups due at once: each handler looks, does what is due (its
claims keep that once) and sets its own next time.

Revision ID: 0015
Revises: 0014
"""

from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

from bot.core import clock

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NEW = timedelta(days=8)  # couples this young may still be owed their onboarding card


def upgrade() -> None:
    timers = op.create_table(
        "timer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_timer_kind_key"),
    )
    op.create_index("ix_timer_due_at", "timer", ["due_at"])
    now = clock.now()  # the one clock: a test's shifted time, too
    couples = sa.table(
        "couple",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("created_at", TS),
    )
    bind = op.get_bind()
    rows = [{"kind": "retention", "key": "daily", "due_at": now}]
    for couple_id, created_at in bind.execute(
        sa.select(couples.c.id, couples.c.created_at).where(couples.c.status == "active")
    ):
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        kinds = ["recap", "start_small"] + (["onboarding"] if now - created < NEW else [])
        rows += [{"kind": kind, "key": str(couple_id), "due_at": now} for kind in kinds]
    op.bulk_insert(timers, rows)


def downgrade() -> None:
    op.drop_index("ix_timer_due_at", "timer")
    op.drop_table("timer")
