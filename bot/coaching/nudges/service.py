"""Nudges: the weekly State of the Union prompt, snoozes, flow reminders and expiry,
and private messages held back by quiet hours.

This is the one clock. The database is the source of truth: a couple's next prompt is
a column; a run's reminder, expiry and the end of its break are columns; planned "you"
time is a row; the recap, start small, the onboarding card and the daily retention are
wake-ups in the `timer` table (nudges/timers.py). `queue_due` finds what is due with
indexed queries, and each due action is one unit of work: its state change, its claim
in `NudgeLog` (unique per couple, kind and slot) and its messages in the outbox commit
together. A message leaves the outbox only once Telegram accepted it
(bot/telegram/sender.py). So every nudge goes out once, whatever restarts, clock changes
or second processes happen, and a crash at the wrong moment makes a message late, not
lost. Telegram-free.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.coaching.agreements import AgreementService
from bot.coaching.couples import CoupleService
from bot.coaching.flows import FlowService
from bot.coaching.nudges.breaks import BreakEnds
from bot.coaching.nudges.common import Nudging
from bot.coaching.nudges.expiry import FlowExpiry
from bot.coaching.nudges.follow_ups import FollowUps
from bot.coaching.nudges.metime import MeTimeNudges
from bot.coaching.nudges.onboarding import OnboardingPractices
from bot.coaching.nudges.recap import WeeklyRecaps
from bot.coaching.nudges.reminders import FlowReminders
from bot.coaching.nudges.safety_check import SafetyChecks
from bot.coaching.nudges.start_small import StartSmallInvitations
from bot.coaching.nudges.timers import Retention, Timed, WakeUps
from bot.coaching.nudges.waits import WaitsOver
from bot.coaching.nudges.weekly import WeeklyPrompts
from bot.coaching.schedule import same_time_next_day
from bot.core.events import Event
from bot.core.outbox import Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.storage.couples import Couples
from bot.storage.db import Database
from bot.storage.outbox import Outbox
from bot.words.buttons import FirstCheckIn, Snooze, StartMeeting, StartSmall
from bot.words.texts import Renderer


class NudgeService:
    """Every kind of nudge, each its own small unit, found by the one tick."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        renderer: Renderer,
        couples: CoupleService,
        flows: FlowService,
        agreements: AgreementService,
        *,
        max_late: timedelta = timedelta(hours=6),
        retention: Callable[[Connection, datetime], None] | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.renderer = renderer
        self.couples = couples
        self.flows = flows
        parts = (db, outbox, renderer, flows, max_late)
        self.weekly = WeeklyPrompts(*parts)
        self.weekly.agreements = agreements
        follow_ups = FollowUps(*parts)
        follow_ups.agreements = agreements
        self.recaps = WeeklyRecaps(*parts)  # its count is Our space's too
        timed: list[Timed] = [
            self.recaps,
            StartSmallInvitations(*parts),
            OnboardingPractices(*parts),
        ]
        if retention is not None:
            timed.append(Retention(*parts, purge=retention))
        self.wake_ups = WakeUps(*parts, handlers=timed)
        self.kinds: list[Nudging] = [
            self.weekly,
            FlowReminders(*parts),
            FlowExpiry(*parts),
            MeTimeNudges(*parts),
            BreakEnds(*parts),
            SafetyChecks(*parts),
            WaitsOver(*parts),
            follow_ups,
            self.wake_ups,
        ]

    def rebuild(self, now: datetime) -> int:
        """At start-up: give every scheduled couple without a next prompt one."""
        return self.weekly.rebuild(now)

    def queue_due(self, now: datetime, limit: int = 100_000) -> int:
        """Do what is due at `now` (about `limit` of each kind), each action one unit of
        work with its messages in the outbox. Returns how many were done: call again
        until it is 0 (an action that failed is logged and left due for the next tick)."""
        return sum(kind.run(now, limit) for kind in self.kinds)

    def button(
        self, tx: Tx, event: Event, data: StartMeeting | Snooze | StartSmall | FirstCheckIn
    ) -> Reply:
        """ "Start now" and "Tomorrow, same time" on a weekly prompt; start small's button."""
        me, couple, _other = self.couples.partner_of(tx, event.person.id)
        if couple is None or couple.id is None or me is None:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if event.in_group and couple.group_chat_id != event.chat_id:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if isinstance(data, StartMeeting | StartSmall | FirstCheckIn):
            role = {StartMeeting: "weekly_meeting", StartSmall: "start_small"}.get(
                type(data), "self_check"
            )
            flow = self.flows.by_role(role)
            if flow is None:
                return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
            return self.flows.start(tx, event, flow)
        if isinstance(data, Snooze):
            slot = datetime.fromtimestamp(data.slot, tz=UTC)
            at = same_time_next_day(slot, couple.timezone)
            Couples.snooze(tx.conn, couple.id, at)
            local = at.astimezone(ZoneInfo(couple.timezone))
            text = self.renderer.render("common/snoozed", by=event.person.first_name, at=local)
            return Reply(notice=Notice(text)).add(Outgoing(event.chat_id, text))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
