"""The `timer` table's one writer: the clock's wake-ups, one row per (kind, key).

`take` is the one query that finds what is due. It leases the rows it returns, under
`FOR UPDATE SKIP LOCKED` on PostgreSQL and the write lock of `BEGIN IMMEDIATE` on SQLite,
so two processes never take the same wake-up at once; a process that dies holding one
hands it on when the lease runs out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import aware
from bot.storage.tables import TIMERS

LEASE = timedelta(minutes=5)  # longer than any handler's unit of work


class Due(NamedTuple):
    id: int
    kind: str
    key: str
    due_at: datetime


class Timers:
    @staticmethod
    def wake(conn: Connection, kind: str, key: str, at: datetime) -> None:
        """Make (kind, key) due at `at`, whether or not it had a row (and drop any lease:
        the handler must look again with what changed)."""
        moved = conn.execute(
            update(TIMERS)
            .where(TIMERS.c.kind == kind, TIMERS.c.key == key)
            .values(due_at=at, lease_until=None)
        )
        if moved.rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(insert(TIMERS).values(kind=kind, key=key, due_at=at))
        except IntegrityError:  # another process made it meanwhile: move that one
            Timers.wake(conn, kind, key, at)

    @staticmethod
    def take(conn: Connection, now: datetime, limit: int) -> list[Due]:
        """Lease and return up to `limit` wake-ups due at `now`, the most overdue first."""
        free = or_(TIMERS.c.lease_until.is_(None), TIMERS.c.lease_until < now)
        query = (
            select(TIMERS.c.id, TIMERS.c.kind, TIMERS.c.key, TIMERS.c.due_at)
            .where(TIMERS.c.due_at <= now, free)
            .order_by(TIMERS.c.due_at)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [Due(r.id, r.kind, r.key, aware(r.due_at)) for r in conn.execute(query)]
        if rows:
            conn.execute(
                update(TIMERS)
                .where(TIMERS.c.id.in_([r.id for r in rows]))
                .values(lease_until=now + LEASE)
            )
        return rows

    @staticmethod
    def settle(conn: Connection, taken: Due, following: datetime | None) -> None:
        """A taken wake-up is done: set its next time, or drop it (None). A row woken again
        meanwhile (its `due_at` moved) is left as the waker set it."""
        same = and_(TIMERS.c.id == taken.id, TIMERS.c.due_at == taken.due_at)
        if following is None:
            conn.execute(delete(TIMERS).where(same))
        else:
            conn.execute(update(TIMERS).where(same).values(due_at=following, lease_until=None))

    @staticmethod
    def forget(conn: Connection, kinds: Iterable[str], key: str) -> None:
        conn.execute(delete(TIMERS).where(TIMERS.c.kind.in_(list(kinds)), TIMERS.c.key == key))
