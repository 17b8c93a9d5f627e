"""pressed buttons kept as values: a run's `<save>_label` holds the button itself
({"button": "flow:state.key", "label": its English}) and `<save>_labels` a list of them,
instead of English words plus hidden `_<save>_ref` / `_<save>_refs` keys

A run in flight keeps every button its partners pressed: each is said in the reader's
language when it is next shown, as before.

Revision ID: 0016
Revises: 0015
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

flowrun = sa.table("flowrun", sa.column("id", sa.Integer()), sa.column("context", sa.JSON()))
REF, REFS = "_ref", "_refs"


def upgrade() -> None:
    _convert(_to_buttons, "%_ref%")


def downgrade() -> None:
    _convert(_to_refs, "%button%")


def _convert(change: Any, holding: str) -> None:
    """Only the runs whose context text could hold what changes are read."""
    bind = op.get_bind()
    maybe = sa.cast(flowrun.c.context, sa.Text).like(holding)
    rows = bind.execute(sa.select(flowrun.c.id, flowrun.c.context).where(maybe)).all()
    for run_id, context in rows:
        changed = change(dict(context or {}))
        if changed is not None:
            bind.execute(sa.update(flowrun).where(flowrun.c.id == run_id).values(context=changed))


def _to_buttons(context: dict[str, Any]) -> dict[str, Any] | None:
    hidden = [k for k in context if k.startswith("_") and k.endswith((REF, REFS))]
    if not hidden:
        return None
    for key in hidden:
        value = context.pop(key)
        if key.endswith(REFS) and isinstance(value, list):
            save = key[1 : -len(REFS)]
            context[f"{save}_labels"] = [{"button": str(r), "label": ""} for r in value]
        elif isinstance(value, str):
            save = key[1 : -len(REF)]
            english = context.get(f"{save}_label")
            context[f"{save}_label"] = {
                "button": value,
                "label": english if isinstance(english, str) else "",
            }
    return context


def _to_refs(context: dict[str, Any]) -> dict[str, Any] | None:
    changed = False
    for key, value in list(context.items()):
        if key.endswith("_labels") and isinstance(value, list) and value:
            if all(isinstance(v, dict) and "button" in v for v in value):
                context.pop(key)
                context[f"_{key[: -len('_labels')]}{REFS}"] = [v["button"] for v in value]
                changed = True
        elif key.endswith("_label") and isinstance(value, dict) and "button" in value:
            context[key] = value.get("label", "")
            context[f"_{key[: -len('_label')]}{REF}"] = value["button"]
            changed = True
    return context if changed else None
