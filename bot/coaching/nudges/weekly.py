"""The weekly State of the Union prompt (and its snooze), at the couple's local time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, or_, select

from bot.coaching.agreements import AgreementService
from bot.coaching.nudges.common import Nudging, Person
from bot.coaching.schedule import next_weekly, week_number
from bot.core.outbox import Button, Outgoing
from bot.storage.agreements import Agreements
from bot.storage.couples import Couples
from bot.storage.tables import AGREEMENTS, COUPLES, RUNS
from bot.words.buttons import Snooze, StartMeeting
from bot.words.text import Text

log = logging.getLogger(__name__)

TWO_WEEKS = timedelta(days=14)  # no meeting for this long: a kinder, shorter prompt


REBUILD_BATCH = 5_000


class WeeklyPrompts(Nudging):
    """Due when a couple's `next_prompt_at` or `snooze_at` has come. The weekly prompt also
    carries the oldest agreement follow-up due by then (bot/coaching/nudges/follow_ups.py
    leaves those to it), with its answer buttons above "Start now"."""

    agreements: AgreementService  # set by NudgeService

    def rebuild(self, now: datetime) -> int:
        """Give every scheduled couple without a next prompt one (e.g. after an upgrade).

        The weekly slots themselves live in the couple rows; this only fills the gaps, a
        few thousand couples a statement: start-up stays fast with many couples, and a
        process does not hold a hundred thousand rows at once (its memory would stay).
        """
        done, after = 0, 0
        # Couples share slots (a day, a time, a zone): each slot's next instant is worked out
        # once, not once a couple (a million couples have a few thousand slots).
        slots: dict[tuple[int, str, str], datetime] = {}

        def due(day: int, at: str, zone: str) -> datetime:
            key = (day, at, zone)
            if key not in slots:
                slots[key] = next_weekly(now, day, at, zone)
            return slots[key]

        while True:
            with self.db.begin() as conn:
                rows = conn.execute(
                    select(
                        COUPLES.c.id,
                        COUPLES.c.meeting_day,
                        COUPLES.c.meeting_time,
                        COUPLES.c.timezone,
                    )
                    .where(
                        COUPLES.c.id > after,
                        COUPLES.c.status == "active",
                        COUPLES.c.next_prompt_at.is_(None),
                        COUPLES.c.meeting_day.is_not(None),
                        COUPLES.c.meeting_time.is_not(None),
                    )
                    .order_by(COUPLES.c.id)
                    .limit(REBUILD_BATCH)
                ).all()
                if not rows:
                    return done
                Couples.set_next_prompts(
                    conn, [(r.id, due(r.meeting_day, r.meeting_time, r.timezone)) for r in rows]
                )
            done, after = done + len(rows), rows[-1].id

    def due(
        self, conn: Connection, now: datetime, limit: int
    ) -> list[tuple[RowMapping, str, datetime]]:
        """Each couple's weekly prompt and snooze that have come: (couple, kind, slot)."""
        couples = (
            conn.execute(
                select(COUPLES)
                .where(
                    COUPLES.c.status == "active",
                    COUPLES.c.paused.is_(False),
                    or_(COUPLES.c.next_prompt_at <= now, COUPLES.c.snooze_at <= now),
                )
                .limit(limit)
            )
            .mappings()
            .all()
        )
        return [
            (couple, kind, slot)
            for couple in couples
            for kind, slot in (
                ("weekly", couple["next_prompt_at"]),
                ("snoozed", couple["snooze_at"]),
            )
            if slot is not None and slot <= now
        ]

    def act(self, conn: Connection, item: tuple[RowMapping, str, datetime], now: datetime) -> None:
        couple, kind, slot = item
        couple_id = couple["id"]
        # Move the couple on to its next slot (only if nobody did meanwhile) ...
        following = (
            next_weekly(slot, couple["meeting_day"], couple["meeting_time"], couple["timezone"])
            if kind == "weekly"
            else None
        )
        Couples.move_on(conn, couple_id, kind, slot, following)
        # ... claim this slot's nudge, exactly once, and queue its messages with it.
        late = now - slot
        skipped = late > self.max_late
        if not self.claim(
            conn, couple_id, kind, slot.isoformat(), now, "skipped" if skipped else "queued"
        ):
            return
        if skipped:
            log.info(
                "couple %s: %s prompt for %s skipped, %s late",
                couple_id,
                kind,
                slot.isoformat(),
                late,
            )
            return
        people = self.people(conn, couple_id)
        text, buttons = self._compose(conn, couple, kind, slot, now, people)
        self.to_couple(conn, couple_id, lambda chat: Outgoing(chat, text, buttons), now)

    def _compose(
        self,
        conn: Connection,
        couple: RowMapping,
        kind: str,
        slot: datetime,
        now: datetime,
        people: list[Person],
    ) -> tuple[Text, tuple[tuple[Button, ...], ...]]:
        """The prompt's words and buttons: a weekly one carries the agreement follow-up due
        by then (claimed here), its answer buttons above "Start now" and "Snooze"."""
        missed = self._missed(conn, couple, now)
        agreement = self._follow_up_due(conn, couple["id"], slot, now) if kind == "weekly" else None
        text = self.renderer.render(
            "common/weekly_prompt",
            names=[p.name for p in people] if len(people) == 2 else None,
            missed=missed,
            variant=week_number(slot),
            agreement=agreement["text"] if agreement else None,
        )
        answers = self.agreements.answer_buttons(agreement["id"]) if agreement else ()
        buttons = (
            *answers,
            (Button(self.renderer.label("common/start_now_button"), data=StartMeeting().pack()),),
            (
                Button(
                    self.renderer.label("common/snooze_button"),
                    data=Snooze(int(slot.timestamp())).pack(),
                ),
            ),
        )
        if agreement is not None:
            log.info("agreement %s followed up with the weekly prompt", agreement["id"])
        return text, buttons

    def _missed(self, conn: Connection, couple: RowMapping, now: datetime) -> bool:
        """No weekly meeting for two weeks (in a couple that old): a kinder, shorter prompt."""
        meeting = self.flows.by_role("weekly_meeting")
        meeting_id = meeting.id if meeting is not None else ""
        met = conn.execute(
            select(RUNS.c.id)
            .where(
                RUNS.c.couple_id == couple["id"],
                RUNS.c.flow_id == meeting_id,
                RUNS.c.status == "done",
                RUNS.c.ended_at >= now - TWO_WEEKS,
            )
            .limit(1)
        ).first()
        return met is None and couple["created_at"] <= now - TWO_WEEKS

    @staticmethod
    def _follow_up_due(
        conn: Connection, couple_id: int, slot: datetime, now: datetime
    ) -> RowMapping | None:
        """The oldest agreement whose follow-up is due by this prompt, claimed for it."""
        row = (
            conn.execute(
                select(AGREEMENTS.c.id, AGREEMENTS.c.text)
                .where(
                    AGREEMENTS.c.couple_id == couple_id,
                    AGREEMENTS.c.follow_up_at <= slot,
                    AGREEMENTS.c.followed_up_at.is_(None),
                    AGREEMENTS.c.status == "open",
                )
                .order_by(AGREEMENTS.c.follow_up_at)
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return row if Agreements.take_follow_up(conn, row["id"], now) else None
