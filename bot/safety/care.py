"""How long the bot stays extra careful after a safety answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from bot.storage.tables import PARTNERS

# For this long after a safety answer, "leave quietly" is offered on /forget and "you" time
# is kept private unless the person chooses to share it.
CAREFUL_FOR = timedelta(days=90)


def careful(safety_at: datetime | None, now: datetime) -> bool:
    """Whether a safety answer was given recently enough to keep things extra private."""
    if safety_at is None:
        return False
    if safety_at.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)  # SQLite hands datetimes back without their zone
    return now - safety_at < CAREFUL_FOR


def careful_person(conn: Connection, person: int, now: datetime) -> bool:
    """Whether `person` was given a safety answer recently (see `careful`)."""
    at = conn.execute(select(PARTNERS.c.safety_at).where(PARTNERS.c.id == person)).scalar()
    return careful(at, now)
