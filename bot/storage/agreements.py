"""The `agreement` table's one writer (what a couple agreed in a meeting or Repair, and its
follow-up). Each method takes the caller's connection, its unit of work."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, update

from bot.storage.tables import AGREEMENTS


class Agreements:
    @staticmethod
    def add(
        conn: Connection,
        couple_id: int,
        run_id: int | None,
        text: str,
        follow_up: date | None,
        now: datetime,
        author: int | None = None,
        follow_up_at: datetime | None = None,
    ) -> None:
        conn.execute(
            insert(AGREEMENTS).values(
                couple_id=couple_id,
                run_id=run_id,
                author_id=author,
                text=text[:4000],
                follow_up=follow_up,
                follow_up_at=follow_up_at,
                created_at=now,
            )
        )

    @staticmethod
    def set_status(conn: Connection, agreement: int, status: str, history: list[Any]) -> None:
        conn.execute(
            update(AGREEMENTS)
            .where(AGREEMENTS.c.id == agreement)
            .values(status=status, history=history)
        )

    @staticmethod
    def take_follow_up(conn: Connection, agreement: int, now: datetime) -> bool:
        """Claim the agreement's follow-up; False when another process took it."""
        taken = conn.execute(
            update(AGREEMENTS)
            .where(AGREEMENTS.c.id == agreement, AGREEMENTS.c.followed_up_at.is_(None))
            .values(followed_up_at=now)
        )
        return bool(taken.rowcount)

    @staticmethod
    def detach_runs(conn: Connection, runs: list[int]) -> None:
        """The meetings' transcripts go (retention, erasure); what was agreed stays."""
        conn.execute(update(AGREEMENTS).where(AGREEMENTS.c.run_id.in_(runs)).values(run_id=None))

    @staticmethod
    def forget_author(conn: Connection, person: int) -> None:
        conn.execute(delete(AGREEMENTS).where(AGREEMENTS.c.author_id == person))
