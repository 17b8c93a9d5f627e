"""The check-in promised when an agreement is made: on the follow-up day at the couple's
meeting time, in their group (or both private chats, after each one's quiet hours), with
"It's working" / "Needs another look" / "Let it go". A paused couple gets it when they
resume; a dissolved one never. One due by the couple's next weekly prompt (the meeting day:
an agreement made at a meeting and looked at "in a week") is left to that prompt, which
carries it, so the couple gets one message, not two side by side."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, or_, select

from bot.coaching.agreements import AgreementService
from bot.coaching.nudges.common import Nudging
from bot.storage.agreements import Agreements
from bot.storage.tables import AGREEMENTS, COUPLES

log = logging.getLogger(__name__)


class FollowUps(Nudging):
    agreements: AgreementService  # set by NudgeService

    def due(self, conn: Connection, now: datetime, limit: int) -> Sequence[int]:
        return (
            conn.execute(
                select(AGREEMENTS.c.id)
                .join(COUPLES, COUPLES.c.id == AGREEMENTS.c.couple_id)
                .where(
                    AGREEMENTS.c.follow_up_at <= now,
                    AGREEMENTS.c.followed_up_at.is_(None),
                    AGREEMENTS.c.status == "open",
                    COUPLES.c.status == "active",
                    COUPLES.c.paused.is_(False),
                    or_(
                        COUPLES.c.next_prompt_at.is_(None),
                        COUPLES.c.next_prompt_at > AGREEMENTS.c.follow_up_at,
                    ),
                )
                .order_by(AGREEMENTS.c.follow_up_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )

    def act(self, conn: Connection, agreement_id: int, now: datetime) -> None:
        """Taken and queued, or neither."""
        if not Agreements.take_follow_up(conn, agreement_id, now):
            return  # another process did it
        row = dict(
            conn.execute(select(AGREEMENTS).where(AGREEMENTS.c.id == agreement_id)).mappings().one()
        )
        self.to_couple(
            conn,
            row["couple_id"],
            lambda chat: self.agreements.follow_up_message(row, chat, now),
            now,
        )
        log.info("agreement %s followed up", agreement_id)
