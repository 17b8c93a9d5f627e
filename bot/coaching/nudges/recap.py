"""The weekly recap: what the couple did for "us" this week, a little after their meeting
slot (Sunday evening for couples without one). Celebratory counts, never a score and
never a streak: a quiet week gets a kind word, not a zero."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from bot.coaching.nudges.common import Nudging
from bot.coaching.schedule import next_weekly, week_number
from bot.core.outbox import Outgoing
from bot.engine.runner import REACHED_PARTNER
from bot.storage.tables import AGREEMENTS, APPRECIATIONS, COUPLES, METIMES, RUNS

log = logging.getLogger(__name__)

AFTER_MEETING = timedelta(hours=2)  # the meeting has ended by then
NO_SLOT = (6, "19:00")  # Sunday evening, for couples without a meeting time
NEW_COUPLE = timedelta(days=3)  # too soon after pairing for a week's recap
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """What a couple did in one week, counted from the rows the practices leave."""

    appreciations: int
    you_time: int
    together: int
    asked: int  # support asked for (the start-small flow)
    offered: int  # support offered (the offer-support flow)
    wins: int  # successes shared with the partner (the share-win flow)
    met: bool
    agreed: int
    working: int

    @property
    def quiet(self) -> bool:
        return not any(asdict(self).values())


class WeeklyRecaps(Nudging):
    def run(self, now: datetime, limit: int = 0) -> int:
        if not self.time_to_scan(now):
            return 0
        with self.db.connect() as conn:
            couples = conn.execute(
                select(
                    COUPLES.c.id,
                    COUPLES.c.timezone,
                    COUPLES.c.meeting_day,
                    COUPLES.c.meeting_time,
                    COUPLES.c.group_chat_id,
                    COUPLES.c.created_at,
                ).where(COUPLES.c.status == "active", COUPLES.c.paused.is_(False))
            ).all()
        count = 0
        for couple in couples:
            due = recap_due(now, couple.meeting_day, couple.meeting_time, couple.timezone)
            if now - due > self.max_late or couple.created_at > due - NEW_COUPLE:
                continue
            with self.db.unit() as conn:  # claimed and queued, or neither
                people = self.people(conn, couple.id)
                if len(people) != 2:
                    continue
                if not self.claim(conn, couple.id, "recap", due.isoformat(), now):
                    continue
                count += 1
                week = self.count(conn, couple.id, due - WEEK, due)
                text = self.renderer.render(
                    "common/weekly_recap",
                    names=[p.name for p in people],
                    variant=week_number(due),
                    **asdict(week),
                    quiet=week.quiet,
                )
                if couple.group_chat_id is not None:
                    self.queue(conn, Outgoing(couple.group_chat_id, text), couple.id, now, now)
                    continue
                for person in people:
                    self.queue_privately(
                        conn, person, couple.timezone, couple.id, Outgoing(person.id, text), now
                    )
        return count

    def count(self, conn: Connection, couple_id: int, start: datetime, end: datetime) -> Week:
        def number(query) -> int:  # type: ignore[no-untyped-def]
            return int(conn.execute(query).scalar() or 0)

        def runs(role: str, shared: bool = False) -> int:
            flow = self.flows.by_role(role)
            if flow is None:
                return 0
            found = conn.execute(
                select(RUNS.c.context).where(
                    RUNS.c.couple_id == couple_id,
                    RUNS.c.flow_id == flow.id,
                    RUNS.c.status == "done",
                    RUNS.c.ended_at >= start,
                    RUNS.c.ended_at < end,
                )
            ).scalars()
            # A Let go kept private is nobody's to count: only what reached the partner.
            return sum(1 for context in found if not shared or (context or {}).get(REACHED_PARTNER))

        def plans(together: bool) -> int:  # planned time that came (and was not skipped)
            return number(
                select(func.count())
                .select_from(METIMES)
                .where(
                    METIMES.c.couple_id == couple_id,
                    METIMES.c.together.is_(together),
                    # "you" time kept private stays private: the recap reaches both
                    METIMES.c.tell_partner.is_(True),
                    METIMES.c.status != "planned",
                    METIMES.c.at >= start,
                    METIMES.c.at < end,
                )
            )

        return Week(
            appreciations=number(
                select(func.count())
                .select_from(APPRECIATIONS)
                .where(
                    APPRECIATIONS.c.couple_id == couple_id,
                    APPRECIATIONS.c.created_at >= start,
                    APPRECIATIONS.c.created_at < end,
                )
            ),
            you_time=plans(False),
            together=plans(True),
            asked=runs("start_small", shared=True),
            offered=runs("offer_support"),
            wins=runs("share_win", shared=True),
            met=runs("weekly_meeting") > 0,
            agreed=number(
                select(func.count())
                .select_from(AGREEMENTS)
                .where(
                    AGREEMENTS.c.couple_id == couple_id,
                    AGREEMENTS.c.created_at >= start,
                    AGREEMENTS.c.created_at < end,
                )
            ),
            working=sum(  # agreements someone said "It's working" about this week
                any(
                    h.get("answer") == "working"
                    and not h.get("pending")  # a proposal the partner has not confirmed
                    and start <= datetime.fromisoformat(h["at"]) < end
                    for h in history or []
                )
                for history in conn.execute(
                    select(AGREEMENTS.c.history).where(
                        AGREEMENTS.c.couple_id == couple_id, AGREEMENTS.c.followed_up_at >= start
                    )
                ).scalars()
            ),
        )


def recap_due(now: datetime, day: int | None, at: str | None, timezone: str) -> datetime:
    """The latest recap moment at or before `now`: the meeting slot plus two hours, or
    Sunday 19:00 local without a slot."""
    weekday, clock = (day, at) if day is not None and at else NO_SLOT
    extra = AFTER_MEETING if day is not None and at else timedelta(0)
    return next_weekly(now - WEEK - extra, weekday, clock, timezone) + extra
