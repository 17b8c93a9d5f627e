"""The third onboarding card (the small practices), before the couple's first Wednesday:
on that Wednesday at noon, local time, hours before the start-small invitation that asks
them to try one (or at once, when they paired on a Wednesday afternoon). Once a person."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.coaching.nudges.timers import Timed
from bot.core.outbox import Outgoing

log = logging.getLogger(__name__)

NEW = timedelta(days=8)  # a couple this new may still be waiting for its card
WEDNESDAY, NOON = 2, time(12, 0)


def card_due(paired_at: datetime, timezone: str) -> datetime:
    """The first Wednesday noon (local) at or after pairing; pairing later on a Wednesday
    is due at once."""
    zone = ZoneInfo(timezone)
    local = paired_at.astimezone(zone)
    day = local.date() + timedelta(days=(WEDNESDAY - local.weekday()) % 7)
    due = datetime.combine(day, NOON, tzinfo=zone).astimezone(UTC)
    return max(due, paired_at) if day == local.date() else due


class OnboardingPractices(Timed):
    kind = "onboarding"

    def wake_up(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        couple = self.couple(conn, key)
        if couple is None or now - couple.created_at > NEW:
            return None
        due = card_due(couple.created_at, couple.timezone)
        if now < due:
            return due
        people = self.people(conn, couple.id)
        if len(people) != 2:
            return None
        for person, other in (people, people[::-1]):
            if not self.claim(conn, couple.id, f"onboarding:{person.id}", "practices", now):
                continue
            card = self.renderer.render("common/onboarding_practices", partner=other.name)
            self.queue_privately(
                conn, person, couple.timezone, couple.id, Outgoing(person.id, card), now
            )
        return None
