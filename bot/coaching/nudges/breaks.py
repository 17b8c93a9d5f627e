"""A break is over: the run checks back and asks its question again."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.coaching.nudges.common import Nudging

log = logging.getLogger(__name__)


class BreakEnds(Nudging):
    """Runs whose `break_until` has come."""

    def run(self, now: datetime, limit: int) -> int:
        """Runs whose break is over check back and ask their question again."""
        due = self.flows.store.breaks_due(now, limit)
        for run_id in due:
            with self.db.unit() as conn:
                reply = self.flows.end_break(run_id)
                self.outbox.put(conn, reply.messages)
        return len(due)
