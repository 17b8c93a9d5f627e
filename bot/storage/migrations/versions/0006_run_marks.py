"""run marks: the engine's bookkeeping moves out of a run's answers into its own column

Revision ID: 0006
Revises: 0005
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# context key -> marks key
MOVED = {"_seen": "seen", "_answered": "answered", "_votes": "votes", "_by": "by"}


def _load(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    return dict(value or {})


def upgrade() -> None:
    with op.batch_alter_table("flowrun") as batch:
        batch.add_column(sa.Column("marks", sa.JSON(), nullable=False, server_default="{}"))
    bind = op.get_bind()
    runs = sa.table(
        "flowrun", sa.column("id", sa.Integer), sa.column("context"), sa.column("marks")
    )
    for row in bind.execute(sa.select(runs.c.id, runs.c.context)).all():
        context = _load(row.context)
        marks = {new: context.pop(old) for old, new in MOVED.items() if old in context}
        if marks:
            bind.execute(
                runs.update()
                .where(runs.c.id == row.id)
                .values(context=json.dumps(context), marks=json.dumps(marks))
            )


def downgrade() -> None:
    bind = op.get_bind()
    runs = sa.table(
        "flowrun", sa.column("id", sa.Integer), sa.column("context"), sa.column("marks")
    )
    for row in bind.execute(sa.select(runs.c.id, runs.c.context, runs.c.marks)).all():
        context, marks = _load(row.context), _load(row.marks)
        context.update({old: marks[new] for old, new in MOVED.items() if new in marks})
        bind.execute(runs.update().where(runs.c.id == row.id).values(context=json.dumps(context)))
    with op.batch_alter_table("flowrun") as batch:
        batch.drop_column("marks")
