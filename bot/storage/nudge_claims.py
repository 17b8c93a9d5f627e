"""The `nudgelog` table's one writer: every nudge is claimed here before it is sent, and the
table's unique key makes the claim exactly once (restarts, clock changes, two processes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert
from sqlalchemy.exc import IntegrityError

from bot.storage.tables import NUDGES


class NudgeClaims:
    @staticmethod
    def claim(
        conn: Connection, couple: int, kind: str, slot: str, now: datetime, status: str = "queued"
    ) -> bool:
        """True for the first claim of (couple, kind, slot), False for any later one."""
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(NUDGES).values(
                        couple_id=couple, kind=kind, slot=slot, status=status, claimed_at=now
                    )
                )
        except IntegrityError:
            return False  # already claimed: by us before a restart, or by another process
        return True

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        """The claims that name a person (kinds such as "safety_check:<person>")."""
        conn.execute(delete(NUDGES).where(NUDGES.c.kind.like(f"%:{person}")))

    @staticmethod
    def purge(conn: Connection, before: datetime) -> None:
        conn.execute(delete(NUDGES).where(NUDGES.c.claimed_at < before))
