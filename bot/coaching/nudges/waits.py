"""A flow's `wait:` step is over (e.g. Lean in's "how did it feel?", a few hours after "I'm on
it"): the run moves on by itself, and what it says waits for the end of quiet hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.coaching.nudges.common import Nudging
from bot.storage.tables import COUPLES, RUNS


class WaitsOver(Nudging):
    """Runs whose `wake_at` has come."""

    def run(self, now: datetime, limit: int) -> int:
        due = self.flows.store.wakes_due(now, limit)
        for run_id in due:
            with self.db.unit() as conn:  # moved on and its messages queued, or neither
                reply = self.flows.wake(run_id)
                if not reply.messages:
                    continue
                couple_id, timezone = conn.execute(
                    select(RUNS.c.couple_id, COUPLES.c.timezone)
                    .join(COUPLES, COUPLES.c.id == RUNS.c.couple_id)
                    .where(RUNS.c.id == run_id)
                ).one()
                people = {p.id: p for p in self.people(conn, couple_id)}
                for message in reply.messages:
                    person = people.get(message.chat_id)
                    if person is None:  # the group
                        self.queue(conn, message, couple_id, now, now)
                    else:
                        self.queue_privately(conn, person, timezone, couple_id, message, now)
        return len(due)
