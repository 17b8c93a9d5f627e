"""Nudges: the weekly State of the Union prompt, snoozes, flow reminders and expiry,
and private messages held back by quiet hours.

The database is the source of truth: a couple's next prompt is a column, a run's
reminder and expiry are columns, a held-back message is a row. `collect(now)` finds
what is due and claims each nudge in `NudgeLog` (unique per couple, kind and slot)
before anything is sent, so every nudge goes out once, whatever restarts, clock
changes or second processes happen. Telegram-free: it returns Deliveries to send.
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
from bot.storage.models import DeferredMessage, FlowRun, NudgeLog
from bot.storage.runs import COUPLES, PARTNERS, RUNS, run_view
from bot.texts import Renderer

log = logging.getLogger(__name__)

NUDGES = NudgeLog.__table__  # type: ignore[attr-defined]
DEFERRED = DeferredMessage.__table__  # type: ignore[attr-defined]
MEETING_FLOW = "sotu"
TWO_WEEKS = timedelta(days=14)


@dataclass
class Delivery:
    """Messages to send now; when they are out, the nudge `log_id` is marked sent."""

    messages: list[Outgoing] = field(default_factory=list)
    log_id: int | None = None
    couple_id: int | None = None


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

    def collect(self, now: datetime, limit: int = 100_000) -> list[Delivery]:
        """Claim and build the nudges due at `now`, at most about `limit` of each kind.

        Everything collected is claimed, so calling again returns the next ones; an
        empty list means nothing else is due.
        """
        deliveries: list[Delivery] = []
        deliveries += self._weekly(now, limit)
        deliveries += self._reminders(now, limit)
        deliveries += self._expired(now, limit)
        deliveries += self._deferred(now, limit)
        return deliveries

    def _claim(
        self,
        conn: Connection,
        couple_id: int,
        kind: str,
        slot: str,
        now: datetime,
        status: str = "sending",
    ) -> int | None:
        try:
            with conn.begin_nested():
                result = conn.execute(
                    insert(NUDGES).values(
                        couple_id=couple_id,
                        kind=kind,
                        slot=slot,
                        status=status,
                        claimed_at=now,
                    )
                )
        except IntegrityError:
            return None  # already claimed: by us before a restart, or by another process
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def mark_sent(self, log_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(NUDGES).where(NUDGES.c.id == log_id).values(status="sent", sent_at=now)
            )

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

    def _privately(
        self,
        conn: Connection,
        person: Person,
        timezone: str,
        couple_id: int,
        message: Outgoing,
        now: datetime,
    ) -> list[Outgoing]:
        """Send now, or hold until the person's quiet hours end; never to the unreachable."""
        if person.unreachable:
            return []
        quiet_until = in_quiet_hours(now, timezone, person.quiet_start, person.quiet_end)
        if quiet_until is None:
            return [message]
        self.defer(conn, message, couple_id, quiet_until, now)
        return []

    def defer(
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
            insert(DEFERRED).values(
                chat_id=message.chat_id,
                couple_id=couple_id,
                text=message.text,
                buttons=buttons,
                deliver_at=at,
                created_at=now,
            )
        )

    def defer_later(self, message: Outgoing, at: datetime, now: datetime) -> None:
        """Put a message that could not go out (flood limit, network) back for later."""
        with self.engine.begin() as conn:
            self.defer(conn, message, None, at, now)

    def _deferred(self, now: datetime, limit: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    select(DEFERRED)
                    .where(DEFERRED.c.deliver_at <= now)
                    .order_by(DEFERRED.c.id)
                    .limit(5000)
                )
                .mappings()
                .all()
            )
            for row in rows:
                # Deleting is the claim: only one process gets rowcount 1.
                taken = conn.execute(delete(DEFERRED).where(DEFERRED.c.id == row["id"]))
                if not taken.rowcount:
                    continue
                buttons = tuple(
                    tuple(
                        Button(b["label"], data=b["data"] or None, url=b["url"] or None)
                        for b in button_row
                    )
                    for button_row in row["buttons"]
                )
                message = Outgoing(chat_id=row["chat_id"], text=row["text"], buttons=buttons)
                deliveries.append(Delivery(messages=[message], couple_id=row["couple_id"]))
        return deliveries

    # ----- the weekly prompt ---------------------------------------------------------------

    def _weekly(self, now: datetime, limit: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        with self.engine.begin() as conn:
            due = (
                conn.execute(
                    select(COUPLES).where(
                        COUPLES.c.status == "active",
                        COUPLES.c.paused.is_(False),
                        or_(COUPLES.c.next_prompt_at <= now, COUPLES.c.snooze_at <= now),
                    )
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
                    deliveries.append(self._prompt(couple, kind, slot, now))
        return deliveries

    def _prompt(self, couple: RowMapping, kind: str, slot: datetime, now: datetime) -> Delivery:
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
            # ... and claim this slot's nudge, exactly once.
            late = now - slot
            status = "skipped" if late > self.max_late else "sending"
            log_id = self._claim(conn, couple_id, kind, slot.isoformat(), now, status)
            # An empty Delivery still counts as handled, so a batch loop knows to go on.
            if log_id is None:
                return Delivery(couple_id=couple_id)
            if status == "skipped":
                log.info(
                    "couple %s: %s prompt for %s skipped, %s late",
                    couple_id,
                    kind,
                    slot.isoformat(),
                    late,
                )
                return Delivery(couple_id=couple_id)
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
            messages: list[Outgoing] = []
            if couple["group_chat_id"] is not None:
                messages.append(Outgoing(couple["group_chat_id"], text, buttons))
            else:
                for person in people:
                    messages += self._privately(
                        conn,
                        person,
                        couple["timezone"],
                        couple_id,
                        Outgoing(person.id, text, buttons),
                        now,
                    )
        return Delivery(messages=messages, log_id=log_id, couple_id=couple_id)

    # ----- flow reminders and expiry -------------------------------------------------------

    def _reminders(self, now: datetime, limit: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
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
                )
                .mappings()
                .all()
            )
        for row in rows:
            delivery = self._remind(FlowRun(**row), now)
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries

    def _remind(self, row: FlowRun, now: datetime) -> Delivery | None:
        flow = self.flows.flows.get(row.flow_id)
        loaded = self.flows.store.load(row.id or 0)
        if flow is None or loaded is None:
            return None
        row, couple = loaded
        with self.engine.begin() as conn:
            marked = conn.execute(
                update(RUNS)
                .where(and_(RUNS.c.id == row.id, RUNS.c.step == row.step))
                .values(reminded_step=row.step)
            ).rowcount
            log_id = self._claim(conn, row.couple_id, "reminder", f"{row.id}:{row.step}", now)
            if not marked or log_id is None:
                return None
            run = run_view(row)
            waiting = self.flows.runner.waiting_for(run)
            saids = [
                s
                for s in self.flows.runner.prompt_again(run, couple.members)
                if s.person is None or s.person in waiting
            ]
            note = self.renderer.render("common/reminder", title=flow.title)
            messages: list[Outgoing] = []
            timezone = (
                conn.execute(
                    select(COUPLES.c.timezone).where(COUPLES.c.id == row.couple_id)
                ).scalar()
                or "UTC"
            )
            people = {p.id: p for p in self._people(conn, row.couple_id)}
            for message in self.flows._outgoing(row, saids, couple):
                batch = [Outgoing(message.chat_id, note), message]
                person = people.get(message.chat_id)
                if person is None:  # the group
                    messages += batch
                    continue
                for each in batch:
                    messages += self._privately(conn, person, timezone, row.couple_id, each, now)
        return Delivery(messages=messages, log_id=log_id, couple_id=row.couple_id)

    def _expired(self, now: datetime, limit: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(RUNS).where(RUNS.c.status == "active", RUNS.c.expires_at <= now)
                )
                .mappings()
                .all()
            )
        for mapping in rows:
            row = FlowRun(**mapping)
            if not self.flows.store.end(row, "expired", now):
                continue  # somebody else closed it
            couple = self.flows.store.couple(row.couple_id)
            if couple is None:
                continue
            title = self.flows._title(row)
            text = self.renderer.render("common/flow_expired", title=title)
            people = self.flows.runner.seen_by(run_view(row))
            log.info("flow run %s expired", row.id)
            deliveries.append(
                Delivery(messages=[Outgoing(p, text) for p in people], couple_id=row.couple_id)
            )
        return deliveries

    # ----- the prompt's buttons ------------------------------------------------------------

    def button(self, event: Event) -> Reply:
        """ "Start now" and "Tomorrow, same time" on a weekly prompt."""
        parts = (event.button or "").split(":")
        me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None or me is None:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        if event.in_group and couple.group_chat_id != event.chat_id:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
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
