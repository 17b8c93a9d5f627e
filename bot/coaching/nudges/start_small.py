"""Start small: one gentle weekly invitation to share a low-stakes struggle."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from bot.coaching.nudges.timers import Timed
from bot.coaching.schedule import WEEK, next_weekly
from bot.core.outbox import Button, Outgoing
from bot.storage.tables import RUNS
from bot.words.buttons import StartSmall

log = logging.getLogger(__name__)


class StartSmallInvitations(Timed):
    """At the start-small flow's `timing` (a weekday and a local time), once a week, to
    each partner who has not used that flow in the last seven days."""

    kind = "start_small"

    def wake_up(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        couple = self.couple(conn, key)
        if couple is None or couple.paused:
            return None
        start_small = self.flows.by_role("start_small")
        if start_small is None or start_small.timing is None:
            return now + WEEK  # no such flow in this release: look again next week
        timing = start_small.timing
        local = now.astimezone(ZoneInfo(couple.timezone))
        if local.weekday() == timing.weekday and (local.hour, local.minute) >= (
            timing.hour,
            timing.minute,
        ):
            self.invite(conn, couple.id, couple.timezone, start_small.id, local, now)
        at = f"{timing.hour:02d}:{timing.minute:02d}"
        return next_weekly(now, timing.weekday, at, couple.timezone)

    def invite(
        self,
        conn: Connection,
        couple: int,
        timezone: str,
        flow: str,
        local: datetime,
        now: datetime,
    ) -> None:
        year, week, _ = local.isocalendar()
        people = self.people(conn, couple)
        if len(people) != 2:
            return
        for person in people:
            shared = conn.execute(
                select(RUNS.c.id)
                .where(
                    RUNS.c.started_by == person.id,
                    RUNS.c.flow_id == flow,
                    RUNS.c.created_at >= now - WEEK,
                )
                .limit(1)
            ).first()
            if shared is not None or not self.claim(
                conn, couple, f"start_small:{person.id}", f"{year}-W{week}", now
            ):
                continue
            other = next(p for p in people if p.id != person.id)
            text = self.renderer.render("common/start_small", partner=other.name)
            button = Button(
                self.renderer.label("common/start_small_button"), data=StartSmall().pack()
            )
            self.queue_privately(
                conn, person, timezone, couple, Outgoing(person.id, text, ((button,),)), now
            )
