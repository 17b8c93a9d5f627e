"""durable core: the inbox of updates, and every outgoing message in the outbox

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inboxupdate",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inboxupdate_processed_at", "inboxupdate", ["processed_at"])
    # What was handled before stays handled: a redelivery of it is skipped.
    op.execute(
        "INSERT INTO inboxupdate (update_id, chat_id, payload, received_at, processed_at) "
        "SELECT update_id, NULL, '{}', processed_at, processed_at FROM processedupdate"
    )
    op.drop_table("processedupdate")
    # Rebuilt with AUTOINCREMENT on SQLite: an outbox id is never handed out twice.
    with op.batch_alter_table(
        "outboxmessage", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("document_name", sa.String(128), nullable=True))
        batch.add_column(sa.Column("document", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("flowrun") as batch:
        batch.create_index("ix_flowrun_break_until", ["break_until"])


def downgrade() -> None:
    with op.batch_alter_table("flowrun") as batch:
        batch.drop_index("ix_flowrun_break_until")
    with op.batch_alter_table("outboxmessage") as batch:
        for column in ("attempts", "priority", "document", "document_name", "extra"):
            batch.drop_column(column)
    op.create_table(
        "processedupdate",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.drop_table("inboxupdate")
