"""One gentle reminder per waiting step; a run left alone closes with a note."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, or_, select

from bot.coaching.nudges.common import Nudging
from bot.core.outbox import Outgoing
from bot.storage.rows import RunRow
from bot.storage.runs import RunStore, run_view
from bot.storage.tables import COUPLES, RUNS

log = logging.getLogger(__name__)


class FlowReminders(Nudging):
    """A step whose `remind_at` has come and that was not reminded yet."""

    def due(self, conn: Connection, now: datetime, limit: int) -> Sequence[RowMapping]:
        return (
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

    def act(self, conn: Connection, mapping: RowMapping, now: datetime) -> None:
        row = RunRow(**mapping)
        marked = RunStore.mark_reminded(conn, row.id or 0, row.step)
        flow = self.flows.flows.get(row.flow_id)
        loaded = self.flows.store.load(conn, row.id or 0)
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
        messages = []
        for message in self.flows.outgoing(row, saids, couple):
            # To one person, or to both in the group (a group's id is negative): the
            # note is said to whoever reads it.
            group = message.chat_id < 0
            note = self.renderer.render("common/reminder", title=title, group=group)
            messages += [Outgoing(message.chat_id, note), message]
        self.route(conn, row.couple_id, messages, now)
