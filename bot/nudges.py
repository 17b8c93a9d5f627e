"""Nudges: the weekly State of the Union prompt, snoozes, flow reminders and expiry,
and private messages held back by quiet hours.

The database is the source of truth: a couple's next prompt is a column, a run's
reminder and expiry are columns. When a nudge is due it is claimed in `NudgeLog`
(unique per couple, kind and slot) and its messages are written to the outbox in the
same transaction; a message leaves the outbox only once Telegram accepted it. So every
nudge goes out once, whatever restarts, clock changes or second processes happen, and
a crash at the wrong moment makes a message late, not lost. Telegram-free: `collect`
returns Deliveries for the adapter to send and report back on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.coaching import FlowService
from bot.couples import CoupleService
from bot.events import Event
from bot.outbox import Button, Notice, Outgoing, Reply
from bot.schedule import in_quiet_hours, next_weekly, same_time_next_day
from bot.storage.models import FlowRun
from bot.storage.runs import run_view
from bot.storage.tables import COUPLES, METIMES, NUDGES, OUTBOX, PARTNERS, RUNS
from bot.texts import Renderer

log = logging.getLogger(__name__)

AFTER_METIME = timedelta(hours=3)  # when to ask how the "you" time was
START_SMALL_DAY, START_SMALL_HOUR = 2, 19  # Wednesday, 19:00 in the couple's timezone
START_SMALL_SCAN = timedelta(minutes=10)
MEETING_FLOW = "sotu"
TWO_WEEKS = timedelta(days=14)
# How long a sender holds an outbox message; renewed right before each send, so after a
# crash a message waits at most this long to be sent by the next process.
LEASE = timedelta(minutes=2)


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
        engine: Engine,
        renderer: Renderer,
        couples: CoupleService,
        flows: FlowService,
        *,
        max_late: timedelta = timedelta(hours=6),
    ) -> None:
        self.engine = engine
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
        with self.engine.begin() as conn:
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

    def collect(self, now: datetime, limit: int = 100_000) -> Batch:
        """Queue the nudges due at `now` (about `limit` of each kind) and claim the outbox
        messages that may go out now. Call again while `more` is true."""
        queued = self._weekly(now, limit) + self._reminders(now, limit)
        queued += self._expired(now, limit) + self._metimes(now, limit)
        queued += self._start_small(now)
        return Batch(self._claim_outbox(now, limit), more=queued > 0)

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
        buttons = [
            [{"label": b.label, "data": b.data or "", "url": b.url or ""} for b in row]
            for row in message.buttons
        ]
        conn.execute(
            insert(OUTBOX).values(
                chat_id=message.chat_id,
                couple_id=couple_id,
                text=message.text,
                buttons=buttons,
                deliver_at=at,
                claimed_until=None,
                created_at=now,
            )
        )

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

    def _claim_outbox(self, now: datetime, limit: int) -> list[Delivery]:
        deliveries: dict[int, Delivery] = {}
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    select(OUTBOX)
                    .where(
                        OUTBOX.c.deliver_at <= now,
                        or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
                    )
                    .order_by(OUTBOX.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
            for row in rows:
                taken = conn.execute(
                    update(OUTBOX)
                    .where(
                        and_(
                            OUTBOX.c.id == row["id"],
                            or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
                        )
                    )
                    .values(claimed_until=now + LEASE)
                )
                if not taken.rowcount:
                    continue  # another process took it
                buttons = tuple(
                    tuple(
                        Button(b["label"], data=b["data"] or None, url=b["url"] or None)
                        for b in button_row
                    )
                    for button_row in row["buttons"]
                )
                message = Outgoing(chat_id=row["chat_id"], text=row["text"], buttons=buttons)
                deliveries.setdefault(row["chat_id"], Delivery(row["chat_id"])).items.append(
                    (row["id"], message)
                )
        return list(deliveries.values())

    def hold(self, outbox_id: int, now: datetime) -> None:
        """Renew the lease on a message about to be sent."""
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(claimed_until=now + LEASE)
            )

    def sent(self, outbox_id: int) -> None:
        """Telegram accepted it (or refused it for good): it leaves the outbox."""
        with self.engine.begin() as conn:
            conn.execute(delete(OUTBOX).where(OUTBOX.c.id == outbox_id))

    def retry_at(self, outbox_id: int, at: datetime) -> None:
        """It could not go out now (flood limit, network): try again at `at`."""
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == outbox_id)
                .values(deliver_at=at, claimed_until=None)
            )

    # ----- the weekly prompt ---------------------------------------------------------------

    def _weekly(self, now: datetime, limit: int) -> int:
        with self.engine.begin() as conn:
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
        with self.engine.begin() as conn:
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
            met = conn.execute(
                select(RUNS.c.id)
                .where(
                    RUNS.c.couple_id == couple_id,
                    RUNS.c.flow_id == MEETING_FLOW,
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
                (Button(self.renderer.render("common/start_now_button"), data="n:start"),),
                (
                    Button(
                        self.renderer.render("common/snooze_button"),
                        data=f"n:snooze:{int(slot.timestamp())}",
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
        with self.engine.connect() as conn:
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
        flow = self.flows.flows.get(row.flow_id)
        loaded = self.flows.store.load(row.id or 0)
        if flow is None or loaded is None:
            return
        row, couple = loaded
        with self.engine.begin() as conn:
            marked = conn.execute(
                update(RUNS)
                .where(and_(RUNS.c.id == row.id, RUNS.c.step == row.step))
                .values(reminded_step=row.step)
            ).rowcount
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
        with self.engine.connect() as conn:
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
            if not self.flows.store.end(row, "expired", now):
                continue  # somebody else closed it
            text = self.renderer.render("common/flow_expired", title=self.flows.title(row))
            log.info("flow run %s expired", row.id)
            with self.engine.begin() as conn:
                # Only those the run spoke to hear it ended.
                for person in self.flows.runner.seen_by(run_view(row)):
                    self._queue(conn, Outgoing(person, text), row.couple_id, now, now)
        return len(rows)

    # ----- "you" time and start small ------------------------------------------------------

    def _metimes(self, now: datetime, limit: int) -> int:
        """A reminder when planned "you" time comes, and "how was it?" three hours later."""
        with self.engine.connect() as conn:
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
            with self.engine.begin() as conn:
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
            _row, messages = self.flows.start_for(
                person.id, "metime_review", {"what": plan["what"]}
            )
            with self.engine.begin() as conn:
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
        with self.engine.connect() as conn:
            couples = conn.execute(
                select(COUPLES.c.id, COUPLES.c.timezone).where(
                    COUPLES.c.status == "active", COUPLES.c.paused.is_(False)
                )
            ).all()
        for couple in couples:
            local = now.astimezone(ZoneInfo(couple.timezone))
            if local.weekday() != START_SMALL_DAY or local.hour < START_SMALL_HOUR:
                continue
            year, week, _ = local.isocalendar()
            with self.engine.begin() as conn:
                people = self._people(conn, couple.id)
                if len(people) != 2:
                    continue
                for person in people:
                    shared = conn.execute(
                        select(RUNS.c.id)
                        .where(
                            RUNS.c.started_by == person.id,
                            RUNS.c.flow_id == "letgo",
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
                        self.renderer.render("common/start_small_button"), data="n:letgo"
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

    def button(self, event: Event) -> Reply:
        """ "Start now" and "Tomorrow, same time" on a weekly prompt."""
        parts = (event.button or "").split(":")
        me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None or me is None:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if event.in_group and couple.group_chat_id != event.chat_id:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if parts[1:2] == ["letgo"]:
            letgo = self.flows.flows.get("letgo")
            if letgo is None:
                return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
            return self.flows.start(event, letgo)
        if parts[1:2] == ["start"]:
            flow = self.flows.flows.get(MEETING_FLOW)
            if flow is None:
                return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
            return self.flows.start(event, flow)
        if parts[1:2] == ["snooze"] and len(parts) == 3 and parts[2].isdigit():
            slot = datetime.fromtimestamp(int(parts[2]), tz=UTC)
            at = same_time_next_day(slot, couple.timezone)
            with self.engine.begin() as conn:
                conn.execute(update(COUPLES).where(COUPLES.c.id == couple.id).values(snooze_at=at))
            local = at.astimezone(ZoneInfo(couple.timezone)).strftime("%a %H:%M")
            text = self.renderer.render("common/snoozed", by=event.person.first_name, at=local)
            return Reply(notice=Notice(text)).add(Outgoing(event.chat_id, text))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
