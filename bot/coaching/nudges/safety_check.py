"""The one gentle private check the day after a safety answer: "I'm still here. Would you
like the numbers again?" Quiet hours are respected; someone who asked for quiet
("pause all nudges quietly") is left alone."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from bot.coaching.nudges.common import Nudging, Person
from bot.core.outbox import Button, Outgoing
from bot.storage.partners import Partners
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.buttons import SafetyChoice

log = logging.getLogger(__name__)


class SafetyChecks(Nudging):
    def run(self, now: datetime, limit: int) -> int:
        with self.db.connect() as conn:
            due = conn.execute(
                select(PARTNERS.c.id, PARTNERS.c.safety_check_at)
                .where(PARTNERS.c.safety_check_at <= now)
                .limit(limit)
            ).all()
        for person_id, due_at in due:
            with self.db.unit() as conn:  # taken and queued, or neither
                taken = Partners.take_safety_check(conn, person_id, due_at)
                if not taken:
                    continue  # another process did it
                row = (
                    conn.execute(
                        select(PARTNERS, COUPLES.c.timezone)
                        .select_from(
                            PARTNERS.outerjoin(COUPLES, PARTNERS.c.couple_id == COUPLES.c.id)
                        )
                        .where(PARTNERS.c.id == person_id)
                    )
                    .mappings()
                    .one()
                )
                if row["hushed"]:
                    continue
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
                self.queue_privately(
                    conn, person, row["timezone"] or "UTC", row["couple_id"], message, now
                )
                log.info("safety check queued for %s", person_id)
        return len(due)
