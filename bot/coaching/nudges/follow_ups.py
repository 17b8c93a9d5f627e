"""The check-in promised when an agreement is made: on the follow-up day at the couple's
meeting time, in their group (or both private chats, after each one's quiet hours), with
"It's working" / "Needs another look" / "Let it go". A paused couple gets it when they
resume; a dissolved one never. One due by the couple's next weekly prompt (the meeting day:
an agreement made at a meeting and looked at "in a week") is left to that prompt, which
carries it, so the couple gets one message, not two side by side."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select

from bot.coaching.agreements import AgreementService
from bot.coaching.nudges.common import Nudging
from bot.storage.agreements import Agreements
from bot.storage.tables import AGREEMENTS, COUPLES

log = logging.getLogger(__name__)


class FollowUps(Nudging):
    agreements: AgreementService  # set by NudgeService

    def run(self, now: datetime, limit: int) -> int:
        with self.db.connect() as conn:
            due = (
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
        for agreement_id in due:
            with self.db.unit() as conn:  # taken and queued, or neither
                taken = Agreements.take_follow_up(conn, agreement_id, now)
                if not taken:
                    continue  # another process did it
                row = dict(
                    conn.execute(select(AGREEMENTS).where(AGREEMENTS.c.id == agreement_id))
                    .mappings()
                    .one()
                )
                couple = conn.execute(
                    select(COUPLES.c.group_chat_id, COUPLES.c.timezone).where(
                        COUPLES.c.id == row["couple_id"]
                    )
                ).one()
                if couple.group_chat_id is not None:
                    message = self.agreements.follow_up_message(row, couple.group_chat_id, now)
                    self.queue(conn, message, row["couple_id"], now, now)
                else:
                    for person in self.people(conn, row["couple_id"]):
                        message = self.agreements.follow_up_message(row, person.id, now)
                        self.queue_privately(
                            conn, person, couple.timezone, row["couple_id"], message, now
                        )
                log.info("agreement %s followed up", agreement_id)
        return len(due)
