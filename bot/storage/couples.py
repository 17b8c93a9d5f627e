"""The `couple` table's one writer: every change to a couple's row is a method here.

Each method takes the caller's connection (its unit of work); `tests/test_layers.py` checks
that no other module writes the table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from bot.storage.rows import CoupleRow
from bot.storage.tables import COUPLES

_NEXT_PROMPT = (
    update(COUPLES)
    .where(COUPLES.c.id == bindparam("couple"))
    .values(next_prompt_at=bindparam("due"))
)


class Couples:
    @staticmethod
    def create(conn: Connection, timezone: str, now: datetime) -> int:
        made = conn.execute(insert(COUPLES).values(timezone=timezone, created_at=now))
        return int(made.inserted_primary_key[0])  # type: ignore[index]

    @staticmethod
    def change(
        conn: Connection, couple: int, change: Callable[[CoupleRow], None]
    ) -> CoupleRow | None:
        """Apply `change` to the couple as stored now and write what it changed (settings
        that move the weekly slot change several columns together)."""
        row = conn.execute(select(COUPLES).where(COUPLES.c.id == couple)).mappings().first()
        if row is None:
            return None
        before = dict(row)
        changed = CoupleRow(**before)
        change(changed)
        after = {k: getattr(changed, k) for k in before}
        values = {k: v for k, v in after.items() if v != before[k]}
        if values:
            conn.execute(update(COUPLES).where(COUPLES.c.id == couple).values(**values))
        return changed

    @staticmethod
    def follow_group(conn: Connection, old_chat: int, new_chat: int) -> None:
        """A group became a supergroup, with a new id."""
        conn.execute(
            update(COUPLES)
            .where(COUPLES.c.group_chat_id == old_chat)
            .values(group_chat_id=new_chat)
        )

    @staticmethod
    def set_group_language(conn: Connection, group_chat: int, language: str | None) -> None:
        conn.execute(
            update(COUPLES).where(COUPLES.c.group_chat_id == group_chat).values(language=language)
        )

    @staticmethod
    def snooze(conn: Connection, couple: int, at: datetime) -> None:
        conn.execute(update(COUPLES).where(COUPLES.c.id == couple).values(snooze_at=at))

    @staticmethod
    def set_next_prompts(conn: Connection, due: list[tuple[int, datetime]]) -> None:
        """Many couples' next weekly prompts in one statement."""
        conn.execute(_NEXT_PROMPT, [{"couple": c, "due": at} for c, at in due])

    @staticmethod
    def move_on(
        conn: Connection, couple: int, kind: str, slot: datetime, following: datetime | None
    ) -> None:
        """Past this slot: the weekly prompt moves to `following`, a snooze is spent (each
        only if nobody moved it meanwhile)."""
        if kind == "weekly":
            conn.execute(
                update(COUPLES)
                .where(and_(COUPLES.c.id == couple, COUPLES.c.next_prompt_at == slot))
                .values(next_prompt_at=following)
            )
        else:
            conn.execute(
                update(COUPLES)
                .where(and_(COUPLES.c.id == couple, COUPLES.c.snooze_at == slot))
                .values(snooze_at=None)
            )

    @staticmethod
    def dissolve(conn: Connection, couple: int) -> None:
        conn.execute(
            update(COUPLES)
            .where(COUPLES.c.id == couple)
            .values(status="dissolved", group_chat_id=None, next_prompt_at=None, snooze_at=None)
        )
