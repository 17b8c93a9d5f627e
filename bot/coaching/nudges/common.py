"""What every kind of nudge shares: the claim that makes it happen once, the couple's
people, and queueing into the outbox (held back by a person's quiet hours)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from bot.coaching.flows import FlowService
from bot.coaching.schedule import in_quiet_hours
from bot.core.outbox import Outgoing
from bot.core.way_out import WayOut
from bot.storage.db import Database
from bot.storage.nudge_claims import NudgeClaims
from bot.storage.outbox import Outbox
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.texts import Renderer

log = logging.getLogger(__name__)


def _ident(item: Any) -> object:
    """What names a due item in the log: its id, never its words."""
    if isinstance(item, Mapping):
        return item.get("id")
    if isinstance(item, tuple):
        return _ident(item[0])
    return item if isinstance(item, int | str) else type(item).__name__


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    quiet_start: str
    quiet_end: str
    unreachable: bool
    hushed: bool  # "pause all nudges quietly" after a safety answer: nothing private


class Nudging:
    """The base of each kind of nudge: `due` reads what is due, `act` does one due item in
    the unit of work the clock opens for it (its state change, claim and messages commit
    together). Only `run` opens transactions, so every kind keeps the same guarantee."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        renderer: Renderer,
        flows: FlowService,
        max_late: timedelta,
    ) -> None:
        self.db = db
        self.way_out = WayOut(outbox)
        self.renderer = renderer
        self.flows = flows
        self.max_late = max_late

    def run(self, now: datetime, limit: int) -> int:
        """Do what is due at `now` (up to `limit` items), each its own unit of work; return
        how many were done. An item that fails is logged and stays due: one broken row
        cannot hold back every other couple's nudges."""
        with self.db.connect() as conn:
            due = self.due(conn, now, limit)
        done = 0
        for item in due:
            try:
                with self.db.unit() as conn:
                    self.act(conn, item, now)
                done += 1
            except Exception:
                log.exception("%s: the due item %s failed", type(self).__name__, _ident(item))
        return done

    def due(self, conn: Connection, now: datetime, limit: int) -> Sequence[Any]:
        raise NotImplementedError

    def act(self, conn: Connection, item: Any, now: datetime) -> None:
        raise NotImplementedError

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
        self.way_out.put(conn, [message], couple_id=couple_id, at=max(at, now))

    def to_couple(
        self,
        conn: Connection,
        couple_id: int,
        message_for: Callable[[int], Outgoing],
        now: datetime,
    ) -> None:
        """A nudge for the couple: to their group if they linked one, else to each partner
        privately (quiet hours apply). `message_for` addresses it to a chat."""
        couple = conn.execute(
            select(COUPLES.c.group_chat_id, COUPLES.c.timezone).where(COUPLES.c.id == couple_id)
        ).one()
        if couple.group_chat_id is not None:
            self.queue(conn, message_for(couple.group_chat_id), couple_id, now, now)
            return
        for person in self.people(conn, couple_id):
            message = message_for(person.id)
            self.queue_privately(conn, person, couple.timezone, couple_id, message, now)

    def route(
        self, conn: Connection, couple_id: int, messages: Iterable[Outgoing], now: datetime
    ) -> None:
        """Messages a flow already addressed: a partner's privately (quiet hours apply),
        the group's at once."""
        timezone = conn.execute(
            select(COUPLES.c.timezone).where(COUPLES.c.id == couple_id)
        ).scalar_one()
        people = {p.id: p for p in self.people(conn, couple_id)}
        for message in messages:
            person = people.get(message.chat_id)
            if person is None:  # the group
                self.queue(conn, message, couple_id, now, now)
            else:
                self.queue_privately(conn, person, timezone, couple_id, message, now)

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
