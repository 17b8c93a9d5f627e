"""The one way in: every update is stored before Telegram hears it arrived, and marked
processed in the same transaction as the work it caused."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from bot.storage.db import Database, utcnow
from bot.storage.tables import INBOX

# Telegram keeps undelivered updates for 24 hours, so older ids can never come back.
KEEP = timedelta(hours=48)


@dataclass(frozen=True)
class Stored:
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]


# Built once (the hot path binds values only; see bot/storage/runs.py).
_CLAIM = (
    update(INBOX)
    .where(INBOX.c.update_id == bindparam("update"), INBOX.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"), payload=bindparam("empty"), chat_id=None)
)
_KNOWN = select(INBOX.c.update_id).where(INBOX.c.update_id == bindparam("update"))


class Inbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, updates: list[Stored]) -> None:
        """Keep a fetched batch; one seen before (a redelivery) keeps its first copy."""
        if not updates:
            return
        now = utcnow()
        rows = [
            {
                "update_id": u.update_id,
                "chat_id": u.chat_id,
                "payload": u.payload,
                "received_at": now,
            }
            for u in updates
        ]
        dialect = self.db.engine.dialect.name
        with self.db.begin() as conn:
            if dialect in ("sqlite", "postgresql"):
                # The dialect's own module, imported by its name: importing PostgreSQL's
                # at start-up cost a SQLite process 50 ms before its first reply.
                maker = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
                conn.execute(maker(INBOX).on_conflict_do_nothing(), rows)
                return
            known = set(
                conn.execute(
                    select(INBOX.c.update_id).where(
                        INBOX.c.update_id.in_([r["update_id"] for r in rows])
                    )
                ).scalars()
            )
            fresh = [r for r in rows if r["update_id"] not in known]
            if fresh:
                conn.execute(insert(INBOX), fresh)

    def next_offset(self) -> int | None:
        """Where polling goes on: after the newest update we already hold."""
        with self.db.connect() as conn:
            newest = conn.execute(select(func.max(INBOX.c.update_id))).scalar()
        return None if newest is None else int(newest) + 1

    def pending(self, limit: int = 500, older_than: float = 0.0) -> list[Stored]:
        """Stored and not yet processed, oldest first (only those stored `older_than`
        seconds ago or earlier, when given)."""
        query = select(INBOX.c.update_id, INBOX.c.chat_id, INBOX.c.payload).where(
            INBOX.c.processed_at.is_(None)
        )
        if older_than:
            query = query.where(INBOX.c.received_at <= utcnow() - timedelta(seconds=older_than))
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(INBOX.c.update_id).limit(limit)).all()
        return [Stored(r.update_id, r.chat_id, r.payload) for r in rows]

    def claim(self, conn: Connection, update_id: int) -> bool:
        """Mark the update processed, inside the caller's transaction; False if it already was.

        An update that was never stored (a test handing one to the application directly)
        is recorded here, so a later redelivery of it is still skipped.
        """
        now = utcnow()
        # What they wrote goes now: only the id stays, to skip a redelivery.
        done = conn.execute(_CLAIM, {"update": update_id, "now": now, "empty": {}}).rowcount
        if done:
            return True
        known = conn.execute(_KNOWN, {"update": update_id}).first()
        if known is not None:
            return False
        conn.execute(
            insert(INBOX).values(
                update_id=update_id, chat_id=None, payload={}, received_at=now, processed_at=now
            )
        )
        return True

    def finish(self, update_id: int) -> None:
        """An update that changed nothing (ignored on purpose, or its handler failed)."""
        with self.db.begin() as conn:
            self.claim(conn, update_id)

    @staticmethod
    def forget_old(conn: Connection, now: datetime) -> int:
        """Handled updates older than `KEEP` (long past any redelivery) go."""
        result = conn.execute(
            delete(INBOX).where(
                INBOX.c.processed_at.is_not(None), INBOX.c.processed_at < now - KEEP
            )
        )
        return int(result.rowcount)
