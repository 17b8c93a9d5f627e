"""Telegram delivers updates at least once; this remembers which ones we handled."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from bot.storage.db import utcnow
from bot.storage.tables import UPDATES

# Telegram keeps undelivered updates for 24 hours, so older ids can never come back.
KEEP = timedelta(hours=48)


def claim_update(engine: Engine, update_id: int) -> bool:
    """Record `update_id`; False if it was already recorded (a redelivery)."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(UPDATES).values(update_id=update_id, processed_at=utcnow()))
    except IntegrityError:
        return False
    return True


def forget_old_updates(engine: Engine) -> int:
    with engine.begin() as conn:
        result = conn.execute(delete(UPDATES).where(UPDATES.c.processed_at < utcnow() - KEEP))
        return int(result.rowcount)
