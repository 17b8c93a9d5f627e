"""Planned "you" time and time together: a reminder when it comes, and "how was it?" some
hours later, to the planner alone ("you" time) or to both partners (time together)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from bot.coaching.nudges.common import Nudging
from bot.core.outbox import Outgoing
from bot.engine.schema import Flow, duration_minutes
from bot.storage.practices import MeTimes
from bot.storage.tables import COUPLES, METIMES

log = logging.getLogger(__name__)


class MeTimeNudges(Nudging):
    """Plans whose time (or whose time plus the review's `timing.after`) has come."""

    def run(self, now: datetime, limit: int) -> int:
        reviews = {
            False: self.flows.by_role("after_metime"),
            True: self.flows.by_role("after_together"),
        }
        asked_by = [  # reviewed once each kind's `timing.after` has passed
            and_(
                METIMES.c.status == "reminded",
                METIMES.c.together.is_(together),
                METIMES.c.at <= now - _after(review),
            )
            for together, review in reviews.items()
        ]
        with self.db.connect() as conn:
            due = (
                conn.execute(
                    select(METIMES, COUPLES.c.timezone)
                    .select_from(METIMES.join(COUPLES, COUPLES.c.id == METIMES.c.couple_id))
                    .where(
                        COUPLES.c.paused.is_(False),
                        or_(
                            and_(METIMES.c.status == "planned", METIMES.c.at <= now),
                            *asked_by,
                        ),
                    )
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for plan in due:
            asking = plan["status"] == "reminded"
            together = bool(plan["together"])
            with self.db.unit() as conn:  # moved on, claimed and queued, or none of it
                moved = MeTimes.move_on(
                    conn, plan["id"], plan["status"], "asked" if asking else "reminded"
                )
                kind = "metime_asked" if asking else "metime_reminder"
                if not moved or not self.claim(conn, plan["couple_id"], kind, str(plan["id"]), now):
                    continue
                people = self.people(conn, plan["couple_id"])
                if not together:
                    people = [p for p in people if p.id == plan["partner_id"]]
                review = reviews[together]
                ref, what = self.flows.runner.suggested(plan["what"])
                for person in people:
                    if not asking:
                        if now - plan["at"] <= self.max_late:  # hours late is no use
                            template = "together_reminder" if together else "metime_reminder"
                            text = self.renderer.render(f"common/{template}", what=what)
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
                    carried = {"what": plan["what"]} | ({"_what_ref": ref} if ref else {})
                    _row, messages = self.flows.start_for(person.id, review.id, carried)
                    for message in messages:
                        self.queue_privately(
                            conn, person, plan["timezone"], plan["couple_id"], message, now
                        )
        return len(due)


def _after(review: Flow | None) -> timedelta:
    """How long after the planned time the review flow asks (its `timing.after`)."""
    if review is not None and review.timing is not None and review.timing.after:
        return timedelta(minutes=duration_minutes(review.timing.after))
    return timedelta(hours=3)
