"""A run left alone past its `expires_at` is closed; those it spoke to are told."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select

from bot.coaching.nudges.common import Nudging
from bot.core.outbox import Outgoing
from bot.core.work import Tx
from bot.storage.rows import RunRow
from bot.storage.runs import run_view
from bot.storage.tables import RUNS

log = logging.getLogger(__name__)


class FlowExpiry(Nudging):
    """Runs past their expiry."""

    def due(self, conn: Connection, now: datetime, limit: int) -> Sequence[RowMapping]:
        return (
            conn.execute(
                select(RUNS).where(RUNS.c.status == "active", RUNS.c.expires_at <= now).limit(limit)
            )
            .mappings()
            .all()
        )

    def act(self, conn: Connection, mapping: RowMapping, now: datetime) -> None:
        """Closed and told, or neither."""
        row = RunRow(**mapping)
        if not self.flows.store.end(conn, row, "expired", now):
            return  # somebody else closed it
        text = self.renderer.render("common/flow_expired", title=self.flows.title(row))
        log.info("flow run %s expired", row.id)
        # Only those the run spoke to hear it ended; not who asked for quiet.
        hushed = {p.id for p in self.people(conn, row.couple_id) if p.hushed}
        for person in self.flows.runner.seen_by(run_view(row)):
            if person not in hushed:
                self.queue(conn, Outgoing(person, text), row.couple_id, now, now)
        # The flow's own words (Lean in: the sharer is never left with silence).
        for note in self.flows.expiry_notes(Tx(conn, now), row):
            if note.chat_id not in hushed:
                self.queue(conn, note, row.couple_id, now, now)
