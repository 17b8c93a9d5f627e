"""Start small: one gentle weekly invitation to share a low-stakes struggle."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.coaching.nudges.common import Nudging
from bot.core.outbox import Button, Outgoing
from bot.storage.tables import COUPLES, RUNS
from bot.words.buttons import StartSmall

log = logging.getLogger(__name__)


class StartSmallInvitations(Nudging):
    """At the start-small flow's `timing` (a weekday and a local time), once a week, to
    each partner who has not used that flow in the last seven days."""

    def run(self, now: datetime, limit: int = 0) -> int:
        if not self.time_to_scan(now):
            return 0
        count = 0
        with self.db.connect() as conn:
            couples = conn.execute(
                select(COUPLES.c.id, COUPLES.c.timezone).where(
                    COUPLES.c.status == "active", COUPLES.c.paused.is_(False)
                )
            ).all()
        start_small = self.flows.by_role("start_small")
        if start_small is None or start_small.timing is None:
            return 0
        timing = start_small.timing
        for couple in couples:
            local = now.astimezone(ZoneInfo(couple.timezone))
            if local.weekday() != timing.weekday or (local.hour, local.minute) < (
                timing.hour,
                timing.minute,
            ):
                continue
            year, week, _ = local.isocalendar()
            with self.db.begin() as conn:
                people = self.people(conn, couple.id)
                if len(people) != 2:
                    continue
                for person in people:
                    shared = conn.execute(
                        select(RUNS.c.id)
                        .where(
                            RUNS.c.started_by == person.id,
                            RUNS.c.flow_id == start_small.id,
                            RUNS.c.created_at >= now - timedelta(days=7),
                        )
                        .limit(1)
                    ).first()
                    if shared is not None or not self.claim(
                        conn, couple.id, f"start_small:{person.id}", f"{year}-W{week}", now
                    ):
                        continue
                    other = next(p for p in people if p.id != person.id)
                    text = self.renderer.render("common/start_small", partner=other.name)
                    button = Button(
                        self.renderer.label("common/start_small_button"), data=StartSmall().pack()
                    )
                    self.queue_privately(
                        conn,
                        person,
                        couple.timezone,
                        couple.id,
                        Outgoing(person.id, text, ((button,),)),
                        now,
                    )
                    count += 1
        return count
