"""The clock's wake-ups (the `timer` table): each kind has a handler that looks at its key
when the row comes due, does what is due and says when to look next.

This replaces scans of every couple every ten minutes: a couple's recap, start-small
invitation and onboarding card each wake once, at their moment. Whatever could move that
moment wakes the couple's rows at once (bot/coaching/wake_ups.py), and the handler works
the moment out again. The claims in `NudgeLog` keep each nudge once, so an early or
repeated wake-up is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select

from bot.coaching.nudges.common import Nudging
from bot.storage.tables import COUPLES
from bot.storage.timers import Timers

log = logging.getLogger(__name__)

RETENTION = "retention"
DAY = timedelta(days=1)


class Timed(Nudging):
    """A kind of wake-up: `wake_up` does what is due for `key` at `now` and returns when to
    look next (None: no more wake-ups until something wakes it)."""

    kind = ""

    def wake_up(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        raise NotImplementedError

    def couple(self, conn: Connection, key: str) -> Row | None:
        """The couple's row if it is still active (dissolved couples have no moments)."""
        return conn.execute(
            select(
                COUPLES.c.id,
                COUPLES.c.timezone,
                COUPLES.c.meeting_day,
                COUPLES.c.meeting_time,
                COUPLES.c.group_chat_id,
                COUPLES.c.created_at,
                COUPLES.c.paused,
            ).where(COUPLES.c.id == int(key), COUPLES.c.status == "active")
        ).first()


class Retention(Timed):
    """Once a day: old transcripts, heard voice notes and old inbox entries go."""

    kind = RETENTION

    def __init__(self, *parts: Any, purge: Callable[[Connection, datetime], None]) -> None:
        super().__init__(*parts)
        self.purge = purge  # what goes (bot/coaching/services.py `retention`)

    def wake_up(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        self.purge(conn, now)
        return now + DAY


class WakeUps(Nudging):
    """Takes what is due from the timer table and hands each row to its kind's handler,
    each in its own unit of work with the row's next time."""

    def __init__(self, *parts: Any, handlers: list[Timed]) -> None:
        super().__init__(*parts)
        self.handlers = {timed.kind: timed for timed in handlers}

    def run(self, now: datetime, limit: int) -> int:
        """Like every kind's, but the rows are taken (leased) in a unit of their own."""
        with self.db.unit() as conn:
            due = Timers.take(conn, now, limit)
        done = 0
        for taken in due:
            handler = self.handlers.get(taken.kind)
            try:
                with self.db.unit() as conn:
                    following = handler.wake_up(conn, taken.key, now) if handler else None
                    Timers.settle(conn, taken, following)
                done += 1
            except Exception:  # its lease runs out, and the next try comes then
                log.exception("the %s wake-up for %s failed", taken.kind, taken.key)
        return done
