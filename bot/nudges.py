"""Nudges: the weekly State of the Union prompt, snoozes, flow reminders and expiry,
and private messages held back by quiet hours.

This is the one clock. The database is the source of truth: a couple's next prompt is
a column; a run's reminder, expiry and the end of its break are columns; planned "you"
time is a row. `queue_due` finds what is due with indexed queries, and each due action
is one unit of work: its state change, its claim in `NudgeLog` (unique per couple, kind
and slot) and its messages in the outbox commit together. A message leaves the outbox
only once Telegram accepted it (bot/sender.py). So every nudge goes out once, whatever
restarts, clock changes or second processes happen, and a crash at the wrong moment
makes a message late, not lost. Telegram-free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.buttons import Snooze, StartMeeting, StartSmall
from bot.coaching import FlowService
from bot.couples import CoupleService
from bot.events import Event
from bot.outbox import Button, Notice, Outgoing, Reply
from bot.schedule import in_quiet_hours, next_weekly, same_time_next_day
from bot.storage.db import Database
from bot.storage.models import FlowRun
from bot.storage.outbox import Outbox
from bot.storage.runs import run_view
from bot.storage.tables import COUPLES, METIMES, NUDGES, PARTNERS, RUNS
from bot.texts import Renderer

log = logging.getLogger(__name__)

AFTER_METIME = timedelta(hours=3)  # when to ask how the "you" time was
START_SMALL_DAY, START_SMALL_HOUR = 2, 19  # Wednesday, 19:00 in the couple's timezone
START_SMALL_SCAN = timedelta(minutes=10)
TWO_WEEKS = timedelta(days=14)


@dataclass
class Delivery:
    """Outbox messages for one chat, to send in order and then report as done."""

    chat_id: int
    items: list[tuple[int, Outgoing]] = field(default_factory=list)

    @property
    def messages(self) -> list[Outgoing]:
        return [message for _id, message in self.items]


@dataclass
class Batch:
    deliveries: list[Delivery]
    more: bool  # nudges were queued this round: call again until nothing is left


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    quiet_start: str
    quiet_end: str
    unreachable: bool


class NudgeService:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        renderer: Renderer,
        couples: CoupleService,
        flows: FlowService,
        *,
        max_late: timedelta = timedelta(hours=6),
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.renderer = renderer
        self.couples = couples
        self.flows = flows
        self.max_late = max_late
        self._next_start_small_scan = datetime.min.replace(tzinfo=UTC)

    # ----- start-up ------------------------------------------------------------------------

    def rebuild(self, now: datetime) -> int:
        """Give every scheduled couple without a next prompt one (e.g. after an upgrade).

        The weekly slots themselves live in the couple rows; this only fills the gaps,
        in one batched statement, so start-up stays fast with many couples.
        """
        with self.db.begin() as conn:
            rows = conn.execute(
                select(
                    COUPLES.c.id, COUPLES.c.meeting_day, COUPLES.c.meeting_time, COUPLES.c.timezone
                ).where(
                    COUPLES.c.status == "active",
                    COUPLES.c.next_prompt_at.is_(None),
                    COUPLES.c.meeting_day.is_not(None),
                    COUPLES.c.meeting_time.is_not(None),
                )
            ).all()
            if not rows:
                return 0
            conn.execute(
                update(COUPLES)
                .where(COUPLES.c.id == bindparam("couple"))
                .values(next_prompt_at=bindparam("due")),
                [
                    {
                        "couple": r.id,
                        "due": next_weekly(now, r.meeting_day, r.meeting_time, r.timezone),
                    }
                    for r in rows
                ],
            )
        return len(rows)

    # ----- what is due ---------------------------------------------------------------------

    def queue_due(self, now: datetime, limit: int = 100_000) -> int:
        """Do what is due at `now` (about `limit` of each kind), each action one unit of
        work with its messages in the outbox. Returns how many were found: call again
        until it is 0."""
        found = self._weekly(now, limit) + self._reminders(now, limit)
        found += self._expired(now, limit) + self._metimes(now, limit)
        found += self._breaks(now, limit) + self._start_small(now)
        return found

    def collect(self, now: datetime, limit: int = 100_000) -> Batch:
        """Queue what is due and lease the outbox messages that may go now, by chat (for
        tests and tools that send by hand; the bot's sender reads the outbox itself)."""
        found = self.queue_due(now, limit)
        deliveries: dict[int, Delivery] = {}
        for item in self.outbox.claim_due(now, limit):
            chat = item.message.chat_id
            deliveries.setdefault(chat, Delivery(chat)).items.append((item.id, item.message))
        return Batch(list(deliveries.values()), more=found > 0)

    def sent(self, outbox_id: int) -> None:
        """Telegram accepted it: it leaves the outbox."""
        self.outbox.sent(outbox_id)

    def _claim(
        self,
        conn: Connection,
        couple_id: int,
        kind: str,
        slot: str,
        now: datetime,
        status: str = "queued",
    ) -> bool:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(NUDGES).values(
                        couple_id=couple_id,
                        kind=kind,
                        slot=slot,
                        status=status,
                        claimed_at=now,
                    )
                )
        except IntegrityError:
            return False  # already claimed: by us before a restart, or by another process
        return True

    def _people(self, conn: Connection, couple_id: int) -> list[Person]:
        return [
            Person(r.id, r.first_name, r.quiet_start, r.quiet_end, r.unreachable)
            for r in conn.execute(
                select(
                    PARTNERS.c.id,
                    PARTNERS.c.first_name,
                    PARTNERS.c.quiet_start,
                    PARTNERS.c.quiet_end,
                    PARTNERS.c.unreachable,
                )
                .where(PARTNERS.c.couple_id == couple_id)
                .order_by(PARTNERS.c.seat)
            )
        ]

    def _queue(
        self,
        conn: Connection,
        message: Outgoing,
        couple_id: int | None,
        at: datetime,
        now: datetime,
    ) -> None:
        self.outbox.put(conn, [message], couple_id=couple_id, at=max(at, now))

    def _queue_privately(
        self,
        conn: Connection,
        person: Person,
        timezone: str,
        couple_id: int,
        message: Outgoing,
        now: datetime,
    ) -> None:
        """Queue for now, or for when the person's quiet hours end; never to the unreachable."""
        if person.unreachable:
            return
        quiet_until = in_quiet_hours(now, timezone, person.quiet_start, person.quiet_end)
        self._queue(conn, message, couple_id, quiet_until or now, now)

    # ----- the weekly prompt ---------------------------------------------------------------

    def _weekly(self, now: datetime, limit: int) -> int:
        with self.db.begin() as conn:
            due = (
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
        for couple in due:
            for kind, slot in (
                ("weekly", couple["next_prompt_at"]),
                ("snoozed", couple["snooze_at"]),
            ):
                if slot is not None and slot <= now:
                    self._prompt(couple, kind, slot, now)
        return len(due)

    def _prompt(self, couple: RowMapping, kind: str, slot: datetime, now: datetime) -> None:
        couple_id = couple["id"]
        with self.db.begin() as conn:
            # Move the couple on to its next slot (only if nobody did meanwhile) ...
            if kind == "weekly":
                following = next_weekly(
                    slot, couple["meeting_day"], couple["meeting_time"], couple["timezone"]
                )
                conn.execute(
                    update(COUPLES)
                    .where(and_(COUPLES.c.id == couple_id, COUPLES.c.next_prompt_at == slot))
                    .values(next_prompt_at=following)
                )
            else:
                conn.execute(
                    update(COUPLES)
                    .where(and_(COUPLES.c.id == couple_id, COUPLES.c.snooze_at == slot))
                    .values(snooze_at=None)
                )
            # ... claim this slot's nudge, exactly once, and queue its messages with it.
            late = now - slot
            skipped = late > self.max_late
            if not self._claim(
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
            people = self._people(conn, couple_id)
            meeting = self.flows.by_role("weekly_meeting")
            meeting_id = meeting.id if meeting is not None else ""
            met = conn.execute(
                select(RUNS.c.id)
                .where(
                    RUNS.c.couple_id == couple_id,
                    RUNS.c.flow_id == meeting_id,
                    RUNS.c.status == "done",
                    RUNS.c.ended_at >= now - TWO_WEEKS,
                )
                .limit(1)
            ).first()
            missed = met is None and couple["created_at"] <= now - TWO_WEEKS
            text = self.renderer.render(
                "common/weekly_prompt",
                names=[p.name for p in people] if len(people) == 2 else None,
                missed=missed,
            )
            buttons = (
                (
                    Button(
                        self.renderer.label("common/start_now_button"), data=StartMeeting().pack()
                    ),
                ),
                (
                    Button(
                        self.renderer.label("common/snooze_button"),
                        data=Snooze(int(slot.timestamp())).pack(),
                    ),
                ),
            )
            if couple["group_chat_id"] is not None:
                self._queue(
                    conn, Outgoing(couple["group_chat_id"], text, buttons), couple_id, now, now
                )
                return
            for person in people:
                self._queue_privately(
                    conn,
                    person,
                    couple["timezone"],
                    couple_id,
                    Outgoing(person.id, text, buttons),
                    now,
                )

    # ----- flow reminders and expiry -------------------------------------------------------

    def _reminders(self, now: datetime, limit: int) -> int:
        with self.db.connect() as conn:
            rows = (
                conn.execute(
                    select(RUNS)
                    .select_from(RUNS.join(COUPLES, COUPLES.c.id == RUNS.c.couple_id))
                    .where(
                        RUNS.c.status == "active",
                        RUNS.c.remind_at <= now,
                        RUNS.c.break_until.is_(None),
                        COUPLES.c.paused.is_(False),
                        or_(RUNS.c.reminded_step.is_(None), RUNS.c.reminded_step != RUNS.c.step),
                    )
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for row in rows:
            self._remind(FlowRun(**row), now)
        return len(rows)

    def _remind(self, row: FlowRun, now: datetime) -> None:
        with self.db.unit() as conn:
            marked = conn.execute(
                update(RUNS)
                .where(and_(RUNS.c.id == row.id, RUNS.c.step == row.step))
                .values(reminded_step=row.step)
            ).rowcount
            flow = self.flows.flows.get(row.flow_id)
            loaded = self.flows.store.load(row.id or 0)
            if flow is None or loaded is None:
                return
            row, couple = loaded
            if not marked or not self._claim(
                conn, row.couple_id, "reminder", f"{row.id}:{row.step}", now
            ):
                return
            run = run_view(row)
            waiting = self.flows.runner.waiting_for(run)
            saids = [
                s
                for s in self.flows.runner.prompt_again(run, couple.members)
                if s.person is None or s.person in waiting
            ]
            note = self.renderer.render("common/reminder", title=flow.title)
            timezone = (
                conn.execute(
                    select(COUPLES.c.timezone).where(COUPLES.c.id == row.couple_id)
                ).scalar()
                or "UTC"
            )
            people = {p.id: p for p in self._people(conn, row.couple_id)}
            for message in self.flows.outgoing(row, saids, couple):
                for each in (Outgoing(message.chat_id, note), message):
                    person = people.get(message.chat_id)
                    if person is None:  # the group
                        self._queue(conn, each, row.couple_id, now, now)
                    else:
                        self._queue_privately(conn, person, timezone, row.couple_id, each, now)

    def _expired(self, now: datetime, limit: int) -> int:
        with self.db.connect() as conn:
            rows = (
                conn.execute(
                    select(RUNS)
                    .where(RUNS.c.status == "active", RUNS.c.expires_at <= now)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for mapping in rows:
            row = FlowRun(**mapping)
            with self.db.unit() as conn:  # closed and told, or neither
                if not self.flows.store.end(row, "expired", now):
                    continue  # somebody else closed it
                text = self.renderer.render("common/flow_expired", title=self.flows.title(row))
                log.info("flow run %s expired", row.id)
                # Only those the run spoke to hear it ended.
                for person in self.flows.runner.seen_by(run_view(row)):
                    self._queue(conn, Outgoing(person, text), row.couple_id, now, now)
        return len(rows)

    def _breaks(self, now: datetime, limit: int) -> int:
        """Runs whose break is over check back and ask their question again."""
        due = self.flows.store.breaks_due(now, limit)
        for run_id in due:
            with self.db.unit() as conn:
                reply = self.flows.end_break(run_id)
                self.outbox.put(conn, reply.messages)
        return len(due)

    # ----- "you" time and start small ------------------------------------------------------

    def _metimes(self, now: datetime, limit: int) -> int:
        """A reminder when planned "you" time comes, and "how was it?" three hours later."""
        with self.db.connect() as conn:
            due = (
                conn.execute(
                    select(METIMES, COUPLES.c.timezone)
                    .select_from(METIMES.join(COUPLES, COUPLES.c.id == METIMES.c.couple_id))
                    .where(
                        COUPLES.c.paused.is_(False),
                        or_(
                            and_(METIMES.c.status == "planned", METIMES.c.at <= now),
                            and_(
                                METIMES.c.status == "reminded", METIMES.c.at <= now - AFTER_METIME
                            ),
                        ),
                    )
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for plan in due:
            asking = plan["status"] == "reminded"
            with self.db.unit() as conn:  # moved on, claimed and queued, or none of it
                moved = conn.execute(
                    update(METIMES)
                    .where(and_(METIMES.c.id == plan["id"], METIMES.c.status == plan["status"]))
                    .values(status="asked" if asking else "reminded")
                ).rowcount
                kind = "metime_asked" if asking else "metime_reminder"
                if not moved or not self._claim(
                    conn, plan["couple_id"], kind, str(plan["id"]), now
                ):
                    continue
                people = {p.id: p for p in self._people(conn, plan["couple_id"])}
                person = people.get(plan["partner_id"])
                if person is None:
                    continue
                if not asking:
                    if now - plan["at"] <= self.max_late:  # a reminder hours late is no use
                        text = self.renderer.render("common/metime_reminder", what=plan["what"])
                        self._queue_privately(
                            conn,
                            person,
                            plan["timezone"],
                            plan["couple_id"],
                            Outgoing(person.id, text),
                            now,
                        )
                    continue
                review = self.flows.by_role("after_metime")
                if review is None:
                    continue
                _row, messages = self.flows.start_for(person.id, review.id, {"what": plan["what"]})
                for message in messages:
                    self._queue_privately(
                        conn, person, plan["timezone"], plan["couple_id"], message, now
                    )
        return len(due)

    def _start_small(self, now: datetime) -> int:
        """Wednesday evenings: one gentle invitation to share a low-stakes struggle, for
        each partner who has not used Let go that week."""
        if now < self._next_start_small_scan:
            return 0
        self._next_start_small_scan = now + START_SMALL_SCAN
        count = 0
        with self.db.connect() as conn:
            couples = conn.execute(
                select(COUPLES.c.id, COUPLES.c.timezone).where(
                    COUPLES.c.status == "active", COUPLES.c.paused.is_(False)
                )
            ).all()
        start_small = self.flows.by_role("start_small")
        if start_small is None:
            return 0
        for couple in couples:
            local = now.astimezone(ZoneInfo(couple.timezone))
            if local.weekday() != START_SMALL_DAY or local.hour < START_SMALL_HOUR:
                continue
            year, week, _ = local.isocalendar()
            with self.db.begin() as conn:
                people = self._people(conn, couple.id)
                if len(people) != 2:
                    continue
                for person in people:
                    shared = conn.execute(
                        select(RUNS.c.id)
                        .where(
                            RUNS.c.started_by == person.id,
                            RUNS.c.flow_id == start_small.id,
                            RUNS.c.created_at >= now - timedelta(days=7),
                        )
                        .limit(1)
                    ).first()
                    if shared is not None or not self._claim(
                        conn, couple.id, f"start_small:{person.id}", f"{year}-W{week}", now
                    ):
                        continue
                    other = next(p for p in people if p.id != person.id)
                    text = self.renderer.render("common/start_small", partner=other.name)
                    button = Button(
                        self.renderer.label("common/start_small_button"), data=StartSmall().pack()
                    )
                    self._queue_privately(
                        conn,
                        person,
                        couple.timezone,
                        couple.id,
                        Outgoing(person.id, text, ((button,),)),
                        now,
                    )
                    count += 1
        return count

    # ----- the prompt's buttons ------------------------------------------------------------

    def button(self, event: Event, data: StartMeeting | Snooze | StartSmall) -> Reply:
        """ "Start now" and "Tomorrow, same time" on a weekly prompt; start small's button."""
        me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None or me is None:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if event.in_group and couple.group_chat_id != event.chat_id:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if isinstance(data, StartMeeting | StartSmall):
            role = "weekly_meeting" if isinstance(data, StartMeeting) else "start_small"
            flow = self.flows.by_role(role)
            if flow is None:
                return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
            return self.flows.start(event, flow)
        if isinstance(data, Snooze):
            slot = datetime.fromtimestamp(data.slot, tz=UTC)
            at = same_time_next_day(slot, couple.timezone)
            with self.db.begin() as conn:
                conn.execute(update(COUPLES).where(COUPLES.c.id == couple.id).values(snooze_at=at))
            local = at.astimezone(ZoneInfo(couple.timezone)).strftime("%a %H:%M")
            text = self.renderer.render("common/snoozed", by=event.person.first_name, at=local)
            return Reply(notice=Notice(text)).add(Outgoing(event.chat_id, text))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
