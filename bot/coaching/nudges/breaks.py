"""A break is over: the run checks back and asks its question again."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from bot.coaching.nudges.common import Nudging
from bot.core.work import Tx

log = logging.getLogger(__name__)


class BreakEnds(Nudging):
    """Runs whose `break_until` has come."""

    def due(self, conn: Connection, now: datetime, limit: int) -> list[int]:
        return self.flows.store.breaks_due(conn, now, limit)

    def act(self, conn: Connection, run_id: int, now: datetime) -> None:
        """The run checks back and asks its question again."""
        reply = self.flows.end_break(Tx(conn, now), run_id)
        self.way_out.put(conn, reply.messages)
