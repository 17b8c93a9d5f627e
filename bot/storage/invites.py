"""The `invite` table's one writer: links made with /invite and taken with /start.
Each method takes the caller's connection, its unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from bot.storage.tables import INVITES


class Invites:
    @staticmethod
    def issue(conn: Connection, code: str, inviter: int, now: datetime, expires: datetime) -> None:
        """A new link; one live invite per person, so older ones are retired."""
        conn.execute(
            update(INVITES)
            .where(INVITES.c.inviter_id == inviter, INVITES.c.used_at.is_(None))
            .values(revoked=True)
        )
        conn.execute(
            insert(INVITES).values(
                code=code, inviter_id=inviter, created_at=now, expires_at=expires, revoked=False
            )
        )

    @staticmethod
    def find(conn: Connection, code: str) -> RowMapping | None:
        return conn.execute(select(INVITES).where(INVITES.c.code == code)).mappings().first()

    @staticmethod
    def claim(conn: Connection, code: str, joiner: int, now: datetime) -> int | None:
        """Take a live invite that is not the joiner's own; its inviter, or None. The write
        takes SQLite's lock first, so two people racing for one code cannot both win."""
        claimed = conn.execute(
            update(INVITES)
            .where(
                INVITES.c.code == code,
                INVITES.c.used_at.is_(None),
                INVITES.c.revoked.is_(False),
                INVITES.c.expires_at > now,
                INVITES.c.inviter_id != joiner,
            )
            .values(used_at=now, used_by=joiner)
        )
        if not claimed.rowcount:
            return None
        return conn.execute(select(INVITES.c.inviter_id).where(INVITES.c.code == code)).scalar()

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        conn.execute(delete(INVITES).where(INVITES.c.inviter_id == person))
        conn.execute(update(INVITES).where(INVITES.c.used_by == person).values(used_by=None))
