"""The practices' tables and their one writer each: check-ins, appreciations and "you" time.
Each method takes the caller's connection, its unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, update

from bot.storage.tables import APPRECIATIONS, CHECKINS, METIMES


class CheckIns:
    @staticmethod
    def add(conn: Connection, **values: Any) -> None:
        conn.execute(insert(CHECKINS).values(**values))

    @staticmethod
    def share(conn: Connection, checkin: int) -> None:
        conn.execute(update(CHECKINS).where(CHECKINS.c.id == checkin).values(shared=True))

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        conn.execute(delete(CHECKINS).where(CHECKINS.c.partner_id == person))


class Appreciations:
    @staticmethod
    def add(
        conn: Connection, couple: int, author: int, recipient: int | None, text: str, now: datetime
    ) -> None:
        conn.execute(
            insert(APPRECIATIONS).values(
                couple_id=couple,
                author_id=author,
                recipient_id=recipient,
                text=text[:4000],
                created_at=now,
            )
        )

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        """Theirs go; those written to them stay with their author, to nobody."""
        conn.execute(delete(APPRECIATIONS).where(APPRECIATIONS.c.author_id == person))
        conn.execute(
            update(APPRECIATIONS)
            .where(APPRECIATIONS.c.recipient_id == person)
            .values(recipient_id=None)
        )


class MeTimes:
    @staticmethod
    def add(conn: Connection, **values: Any) -> None:
        conn.execute(insert(METIMES).values(**values))

    @staticmethod
    def move_on(conn: Connection, plan: int, was: str, now_is: str) -> bool:
        """From one status to the next, only if nobody moved it meanwhile."""
        moved = conn.execute(
            update(METIMES)
            .where(and_(METIMES.c.id == plan, METIMES.c.status == was))
            .values(status=now_is)
        )
        return bool(moved.rowcount)

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        conn.execute(delete(METIMES).where(METIMES.c.partner_id == person))
