"""Planned "you" time and time together: a reminder when it comes, and "how was it?" some
hours later, to the planner alone ("you" time) or to both partners (time together)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, and_, or_, select

from bot.coaching.nudges.common import Nudging, Person
from bot.core.outbox import Outgoing
from bot.core.work import Tx
from bot.engine.schema import Flow, duration_minutes
from bot.storage.practices import MeTimes
from bot.storage.tables import COUPLES, METIMES

log = logging.getLogger(__name__)


class MeTimeNudges(Nudging):
    """Plans whose time (or whose time plus the review's `timing.after`) has come."""

    def reviews(self) -> dict[bool, Flow | None]:
        """The "how was it?" flow of "you" time (False) and of time together (True)."""
        return {
            False: self.flows.by_role("after_metime"),
            True: self.flows.by_role("after_together"),
        }

    def act(self, conn: Connection, plan: RowMapping, now: datetime) -> None:
        """Moved on, claimed and queued, or none of it."""
        asking = plan["status"] == "reminded"
        together = bool(plan["together"])
        moved = MeTimes.move_on(conn, plan["id"], plan["status"], "asked" if asking else "reminded")
        kind = "metime_asked" if asking else "metime_reminder"
        if not moved or not self.claim(conn, plan["couple_id"], kind, str(plan["id"]), now):
            return
        people = self.people(conn, plan["couple_id"])
        if not together:
            people = [p for p in people if p.id == plan["partner_id"]]
        if asking:
            self._ask(conn, plan, people, self.reviews()[together], now)
        else:
            self._remind(conn, plan, people, now)

    def due(self, conn: Connection, now: datetime, limit: int) -> Sequence[RowMapping]:
        """Plans whose time has come (to remind) or whose review is due (to ask)."""
        asked_by = [  # reviewed once each kind's `timing.after` has passed
            and_(
                METIMES.c.status == "reminded",
                METIMES.c.together.is_(together),
                METIMES.c.at <= now - _after(review),
            )
            for together, review in self.reviews().items()
        ]
        return (
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

    def _remind(
        self, conn: Connection, plan: RowMapping, people: list[Person], now: datetime
    ) -> None:
        """The reminder when the planned time comes (none when hours late: no use then)."""
        if now - plan["at"] > self.max_late:
            return
        _button, what = self.flows.runner.suggested(plan["what"])
        template = "together_reminder" if plan["together"] else "metime_reminder"
        for person in people:
            text = self.renderer.render(f"common/{template}", what=what)
            self.queue_privately(
                conn, person, plan["timezone"], plan["couple_id"], Outgoing(person.id, text), now
            )

    def _ask(
        self,
        conn: Connection,
        plan: RowMapping,
        people: list[Person],
        review: Flow | None,
        now: datetime,
    ) -> None:
        """Some hours later, "how was it?": the review flow, started for each person."""
        if review is None:
            return
        button, _what = self.flows.runner.suggested(plan["what"])
        for person in people:
            carried = {"what": plan["what"]} | ({"what_label": button} if button else {})
            _row, messages = self.flows.start_for(Tx(conn, now), person.id, review.id, carried)
            for message in messages:
                self.queue_privately(
                    conn, person, plan["timezone"], plan["couple_id"], message, now
                )


def _after(review: Flow | None) -> timedelta:
    """How long after the planned time the review flow asks (its `timing.after`)."""
    if review is not None and review.timing is not None and review.timing.after:
        return timedelta(minutes=duration_minutes(review.timing.after))
    return timedelta(hours=3)
