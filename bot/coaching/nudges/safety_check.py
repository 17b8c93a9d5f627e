"""The one gentle private check the day after a safety answer: "I'm still here. Would you
like the numbers again?" Quiet hours are respected; someone who asked for quiet
("pause all nudges quietly") is left alone."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, select

from bot.coaching.nudges.common import Nudging, Person
from bot.core.outbox import Button, Outgoing
from bot.storage.partners import Partners
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.buttons import SafetyChoice

log = logging.getLogger(__name__)


class SafetyChecks(Nudging):
    def due(self, conn: Connection, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        return [
            (r.id, r.safety_check_at)
            for r in conn.execute(
                select(PARTNERS.c.id, PARTNERS.c.safety_check_at)
                .where(PARTNERS.c.safety_check_at <= now)
                .limit(limit)
            )
        ]

    def act(self, conn: Connection, item: tuple[int, datetime], now: datetime) -> None:
        """Taken and queued, or neither."""
        person_id, due_at = item
        if not Partners.take_safety_check(conn, person_id, due_at):
            return  # another process did it
        row = (
            conn.execute(
                select(PARTNERS, COUPLES.c.timezone)
                .select_from(PARTNERS.outerjoin(COUPLES, PARTNERS.c.couple_id == COUPLES.c.id))
                .where(PARTNERS.c.id == person_id)
            )
            .mappings()
            .one()
        )
        if row["hushed"]:
            return
        person = Person(
            row["id"],
            row["first_name"],
            row["quiet_start"],
            row["quiet_end"],
            row["unreachable"],
            False,
        )
        buttons = (
            (
                Button(
                    self.renderer.label("common/safety_numbers"),
                    data=SafetyChoice("numbers").pack(),
                ),
            ),
            (
                Button(
                    self.renderer.label("common/safety_fine"),
                    data=SafetyChoice("fine").pack(),
                ),
            ),
        )
        message = Outgoing(person_id, self.renderer.render("common/safety_check"), buttons)
        self.queue_privately(conn, person, row["timezone"] or "UTC", row["couple_id"], message, now)
        log.info("safety check queued for %s", person_id)
