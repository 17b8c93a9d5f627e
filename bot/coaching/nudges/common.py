"""What every kind of nudge shares: the claim that makes it happen once, the couple's
people, and queueing into the outbox (held back by a person's quiet hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from bot.coaching.flows import FlowService
from bot.coaching.schedule import in_quiet_hours
from bot.core.outbox import Outgoing
from bot.storage.db import Database
from bot.storage.nudge_claims import NudgeClaims
from bot.storage.outbox import Outbox
from bot.storage.tables import PARTNERS
from bot.words.texts import Renderer


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    quiet_start: str
    quiet_end: str
    unreachable: bool
    hushed: bool  # "pause all nudges quietly" after a safety answer: nothing private


class Nudging:
    """The base of each kind of nudge: `run(now, limit)` does what is due and says how many
    it found; each due action is one unit of work."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        renderer: Renderer,
        flows: FlowService,
        max_late: timedelta,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.renderer = renderer
        self.flows = flows
        self.max_late = max_late

    def run(self, now: datetime, limit: int) -> int:
        raise NotImplementedError

    # Kinds that look through every couple do it at most every `scan` (per instance).
    scan = timedelta(minutes=10)
    _next_scan = datetime.min.replace(tzinfo=UTC)

    def time_to_scan(self, now: datetime) -> bool:
        if now < self._next_scan:
            return False
        self._next_scan = now + self.scan
        return True

    def claim(
        self,
        conn: Connection,
        couple_id: int,
        kind: str,
        slot: str,
        now: datetime,
        status: str = "queued",
    ) -> bool:
        return NudgeClaims.claim(conn, couple_id, kind, slot, now, status)

    def people(self, conn: Connection, couple_id: int) -> list[Person]:
        return [
            Person(r.id, r.first_name, r.quiet_start, r.quiet_end, r.unreachable, r.hushed)
            for r in conn.execute(
                select(
                    PARTNERS.c.id,
                    PARTNERS.c.first_name,
                    PARTNERS.c.quiet_start,
                    PARTNERS.c.quiet_end,
                    PARTNERS.c.unreachable,
                    PARTNERS.c.hushed,
                )
                .where(PARTNERS.c.couple_id == couple_id)
                .order_by(PARTNERS.c.seat)
            )
        ]

    def queue(
        self,
        conn: Connection,
        message: Outgoing,
        couple_id: int | None,
        at: datetime,
        now: datetime,
    ) -> None:
        self.outbox.put(conn, [message], couple_id=couple_id, at=max(at, now))

    def queue_privately(
        self,
        conn: Connection,
        person: Person,
        timezone: str,
        couple_id: int | None,
        message: Outgoing,
        now: datetime,
    ) -> None:
        """Queue for now, or for when the person's quiet hours end; never to the unreachable
        or to someone who paused their nudges quietly (every private nudge passes here)."""
        if person.unreachable or person.hushed:
            return
        quiet_until = in_quiet_hours(now, timezone, person.quiet_start, person.quiet_end)
        self.queue(conn, message, couple_id, quiet_until or now, now)
