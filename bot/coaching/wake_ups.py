"""A couple's wake-ups in the clock's `timer` table (handled in nudges/timers.py).

Whatever could move a couple's moments (pairing, a new meeting slot or timezone, a pause
ending) wakes its rows at once, and each handler works its moment out again: one rule
in one place, instead of each setting knowing which nudges depend on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot.storage.timers import Timers

COUPLE_KINDS = ("recap", "start_small", "onboarding")


def wake_couple(conn: Connection, couple: int, now: datetime) -> None:
    for kind in COUPLE_KINDS:
        Timers.wake(conn, kind, str(couple), now)


def forget_couple(conn: Connection, couple: int) -> None:
    Timers.forget(conn, COUPLE_KINDS, str(couple))
