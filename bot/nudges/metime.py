"""Planned "you" time: a reminder when it comes, and "how was it?" some hours later."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from bot.engine.schema import duration_minutes
from bot.nudges.common import Nudging
from bot.outbox import Outgoing
from bot.storage.tables import COUPLES, METIMES

log = logging.getLogger(__name__)


class MeTimeNudges(Nudging):
    """Plans whose time (or whose time plus the review's `timing.after`) has come."""

    def run(self, now: datetime, limit: int) -> int:
        review = self.flows.by_role("after_metime")
        after = (
            timedelta(minutes=duration_minutes(review.timing.after))
            if review is not None and review.timing is not None and review.timing.after
            else timedelta(hours=3)
        )
        with self.db.connect() as conn:
            due = (
                conn.execute(
                    select(METIMES, COUPLES.c.timezone)
                    .select_from(METIMES.join(COUPLES, COUPLES.c.id == METIMES.c.couple_id))
                    .where(
                        COUPLES.c.paused.is_(False),
                        or_(
                            and_(METIMES.c.status == "planned", METIMES.c.at <= now),
                            and_(METIMES.c.status == "reminded", METIMES.c.at <= now - after),
                        ),
                    )
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for plan in due:
            asking = plan["status"] == "reminded"
            with self.db.unit() as conn:  # moved on, claimed and queued, or none of it
                moved = conn.execute(
                    update(METIMES)
                    .where(and_(METIMES.c.id == plan["id"], METIMES.c.status == plan["status"]))
                    .values(status="asked" if asking else "reminded")
                ).rowcount
                kind = "metime_asked" if asking else "metime_reminder"
                if not moved or not self.claim(conn, plan["couple_id"], kind, str(plan["id"]), now):
                    continue
                people = {p.id: p for p in self.people(conn, plan["couple_id"])}
                person = people.get(plan["partner_id"])
                if person is None:
                    continue
                if not asking:
                    if now - plan["at"] <= self.max_late:  # a reminder hours late is no use
                        text = self.renderer.render("common/metime_reminder", what=plan["what"])
                        self.queue_privately(
                            conn,
                            person,
                            plan["timezone"],
                            plan["couple_id"],
                            Outgoing(person.id, text),
                            now,
                        )
                    continue
                if review is None:
                    continue
                _row, messages = self.flows.start_for(person.id, review.id, {"what": plan["what"]})
                for message in messages:
                    self.queue_privately(
                        conn, person, plan["timezone"], plan["couple_id"], message, now
                    )
        return len(due)
