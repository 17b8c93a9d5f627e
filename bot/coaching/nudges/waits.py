"""A flow's `wait:` step is over (e.g. Lean in's "how did it feel?", a few hours after "I'm on
it"): the run moves on by itself, and what it says waits for the end of quiet hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from bot.coaching.nudges.common import Nudging
from bot.core.work import Tx
from bot.storage.tables import RUNS


class WaitsOver(Nudging):
    """Runs whose `wake_at` has come."""

    def due(self, conn: Connection, now: datetime, limit: int) -> list[int]:
        return self.flows.store.wakes_due(conn, now, limit)

    def act(self, conn: Connection, run_id: int, now: datetime) -> None:
        """Moved on and its messages queued, or neither."""
        reply = self.flows.wake(Tx(conn, now), run_id)
        if not reply.messages:
            return
        couple_id = conn.execute(select(RUNS.c.couple_id).where(RUNS.c.id == run_id)).scalar_one()
        self.route(conn, couple_id, reply.messages, now)
