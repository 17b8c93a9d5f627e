"""The weekly recap: what the couple did for "us" this week, a little after their meeting
slot (Sunday evening for couples without one). Celebratory counts, never a score and
never a streak: a quiet week gets a kind word, not a zero."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, Select, Table, func, select

from bot.coaching.nudges.timers import Timed
from bot.coaching.schedule import WEEK, next_weekly, week_number
from bot.core.outbox import Outgoing
from bot.engine.runner import REACHED_PARTNER
from bot.storage.tables import AGREEMENTS, APPRECIATIONS, METIMES, RUNS

log = logging.getLogger(__name__)

AFTER_MEETING = timedelta(hours=2)  # the meeting has ended by then
NO_SLOT = (6, "19:00")  # Sunday evening, for couples without a meeting time
NEW_COUPLE = timedelta(days=3)  # too soon after pairing for a week's recap


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


class WeeklyRecaps(Timed):
    """Wakes at the couple's recap moment; sends this week's recap once (its claim), to
    the group if linked, else to each partner, and wakes again a week later."""

    kind = "recap"

    def wake_up(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        couple = self.couple(conn, key)
        if couple is None or couple.paused:  # a new pause or dissolving ends the wake-ups
            return None
        slot = (couple.meeting_day, couple.meeting_time, couple.timezone)
        due = recap_due(now, *slot)
        fresh = couple.created_at > due - NEW_COUPLE
        if now - due <= self.max_late and not fresh:
            self.send(conn, couple, due, now)
        return recap_due(now + WEEK, *slot)  # the first recap moment after now

    def send(self, conn: Connection, couple: Row, due: datetime, now: datetime) -> None:
        people = self.people(conn, couple.id)
        if len(people) != 2 or not self.claim(conn, couple.id, "recap", due.isoformat(), now):
            return
        week = self.count(conn, couple.id, due - WEEK, due)
        text = self.renderer.render(
            "common/weekly_recap",
            names=[p.name for p in people],
            variant=week_number(due),
            **asdict(week),
            quiet=week.quiet,
        )
        self.to_couple(conn, couple.id, lambda chat: Outgoing(chat, text), now)

    def count(self, conn: Connection, couple_id: int, start: datetime, end: datetime) -> Week:
        def runs(role: str, shared: bool = False) -> int:
            return self.runs(conn, couple_id, role, start, end, shared)

        def created(table: Table) -> int:
            return _number(
                conn,
                select(func.count())
                .select_from(table)
                .where(
                    table.c.couple_id == couple_id,
                    table.c.created_at >= start,
                    table.c.created_at < end,
                ),
            )

        return Week(
            appreciations=created(APPRECIATIONS),
            you_time=_plans(conn, couple_id, False, start, end),
            together=_plans(conn, couple_id, True, start, end),
            asked=runs("start_small", shared=True),
            offered=runs("offer_support"),
            wins=runs("share_win", shared=True),
            met=runs("weekly_meeting") > 0,
            agreed=created(AGREEMENTS),
            working=_working(conn, couple_id, start, end),
        )

    def runs(
        self,
        conn: Connection,
        couple_id: int,
        role: str,
        start: datetime,
        end: datetime,
        shared: bool,
    ) -> int:
        """The couple's finished runs of the flow with `role` this week."""
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


def _number(conn: Connection, query: Select) -> int:
    return int(conn.execute(query).scalar() or 0)


def _plans(conn: Connection, couple_id: int, together: bool, start: datetime, end: datetime) -> int:
    """Planned time that came (and was not skipped)."""
    return _number(
        conn,
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
        ),
    )


def _working(conn: Connection, couple_id: int, start: datetime, end: datetime) -> int:
    """Agreements someone said "It's working" about this week."""
    return sum(
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
    )


def recap_due(now: datetime, day: int | None, at: str | None, timezone: str) -> datetime:
    """The latest recap moment at or before `now`: the meeting slot plus two hours, or
    Sunday 19:00 local without a slot."""
    weekday, clock = (day, at) if day is not None and at else NO_SLOT
    extra = AFTER_MEETING if day is not None and at else timedelta(0)
    return next_weekly(now - WEEK - extra, weekday, clock, timezone) + extra
