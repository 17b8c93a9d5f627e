"""agreement follow-ups: when the promised check-in is due, when it went out, the answers

Revision ID: 0008
Revises: 0007
"""

from datetime import datetime, time

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.add_column(sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="open")
        )
        batch.add_column(sa.Column("history", sa.JSON(), nullable=False, server_default="[]"))
        batch.create_index("ix_agreement_follow_up_at", ["follow_up_at"])
    # Agreements made before this revision were promised a check-in too: on their day, at
    # 18:00 UTC (their couple's meeting time is not worth a per-row timezone sum here).
    agreements = sa.table(
        "agreement",
        sa.column("follow_up", sa.Date),
        sa.column("follow_up_at", sa.DateTime),
    )
    bind = op.get_bind()
    for (day,) in bind.execute(
        sa.select(agreements.c.follow_up).where(agreements.c.follow_up.is_not(None)).distinct()
    ).all():
        bind.execute(
            agreements.update()
            .where(agreements.c.follow_up == day)
            .values(follow_up_at=datetime.combine(day, time(18)))
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.drop_index("ix_agreement_follow_up_at")
        batch.drop_column("history")
        batch.drop_column("status")
        batch.drop_column("followed_up_at")
        batch.drop_column("follow_up_at")
