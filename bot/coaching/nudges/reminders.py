"""One gentle reminder per waiting step; a run left alone closes with a note."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select

from bot.coaching.nudges.common import Nudging
from bot.core.outbox import Outgoing
from bot.storage.models import FlowRun
from bot.storage.runs import RunStore, run_view
from bot.storage.tables import COUPLES, RUNS

log = logging.getLogger(__name__)


class FlowReminders(Nudging):
    """A step whose `remind_at` has come and that was not reminded yet."""

    def run(self, now: datetime, limit: int) -> int:
        with self.db.connect() as conn:
            rows = (
                conn.execute(
                    select(RUNS)
                    .select_from(RUNS.join(COUPLES, COUPLES.c.id == RUNS.c.couple_id))
                    .where(
                        RUNS.c.status == "active",
                        RUNS.c.remind_at <= now,
                        RUNS.c.break_until.is_(None),
                        COUPLES.c.paused.is_(False),
                        or_(RUNS.c.reminded_step.is_(None), RUNS.c.reminded_step != RUNS.c.step),
                    )
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for row in rows:
            self._remind(FlowRun(**row), now)
        return len(rows)

    def _remind(self, row: FlowRun, now: datetime) -> None:
        with self.db.unit() as conn:
            marked = RunStore.mark_reminded(conn, row.id or 0, row.step)
            flow = self.flows.flows.get(row.flow_id)
            loaded = self.flows.store.load(row.id or 0)
            if flow is None or loaded is None:
                return
            row, couple = loaded
            if not marked or not self.claim(
                conn, row.couple_id, "reminder", f"{row.id}:{row.step}", now
            ):
                return
            run = run_view(row)
            waiting = self.flows.runner.waiting_for(run)
            saids = [
                s
                for s in self.flows.runner.prompt_again(run, couple.members)
                if s.person is None or s.person in waiting
            ]
            title = self.renderer.labels.title(flow)  # in each reader's language
            timezone = (
                conn.execute(
                    select(COUPLES.c.timezone).where(COUPLES.c.id == row.couple_id)
                ).scalar()
                or "UTC"
            )
            people = {p.id: p for p in self.people(conn, row.couple_id)}
            for message in self.flows.outgoing(row, saids, couple):
                person = people.get(message.chat_id)
                # To one person, or to both in the group: the note is said to whoever reads it.
                note = self.renderer.render("common/reminder", title=title, group=person is None)
                for each in (Outgoing(message.chat_id, note), message):
                    if person is None:  # the group
                        self.queue(conn, each, row.couple_id, now, now)
                    else:
                        self.queue_privately(conn, person, timezone, row.couple_id, each, now)
