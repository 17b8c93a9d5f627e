"""Flow runs in the database: starting, answering, pressing, breaks, cancelling.

This is where the pure FlowRunner meets storage. Every change to a run is one
transaction that starts with `UPDATE flowrun ... WHERE id = ? AND version = ?`, so
two partners answering at once can never advance a run twice: the loser reloads and
tries again. Telegram-free: it takes Events and returns Replies.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.couples import Clock, CoupleService
from bot.engine.runner import FlowBug, FlowRunner, Input, Member, Outcome, Run, Said
from bot.engine.schema import Flow
from bot.events import Event
from bot.outbox import Button, Notice, Outgoing, Reply
from bot.storage.db import utcnow
from bot.storage.models import Agreement, Couple, FlowRun
from bot.texts import Renderer

log = logging.getLogger(__name__)
RETRIES = 5
MAX_ANSWER_CHARS = 2000


def run_view(row: FlowRun) -> Run:
    return Run(
        flow_id=row.flow_id,
        state=row.state,
        step=row.step,
        roles=dict(row.roles),
        context=dict(row.context),
        in_group=row.in_group,
        status=row.status,
        break_until=row.break_until,
    )


class FlowService:
    def __init__(
        self,
        engine: Engine,
        flows: dict[str, Flow],
        renderer: Renderer,
        couples: CoupleService,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.flows = flows
        self.renderer = renderer
        self.couples = couples
        self.runner = FlowRunner(flows, renderer)
        self.clock = clock

    # ----- lookups -------------------------------------------------------------------------

    def by_command(self, command: str) -> Flow | None:
        return next((f for f in self.flows.values() if f.command == command), None)

    def _members(self, couple_id: int) -> dict[int, Member]:
        return {p.id: Member(p.id, p.first_name) for p in self.couples.couple_members(couple_id)}

    def _active_runs(self, couple_id: int) -> list[FlowRun]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.exec(
                    select(FlowRun)
                    .where(FlowRun.couple_id == couple_id, FlowRun.status == "active")
                    .order_by(col(FlowRun.updated_at).desc(), col(FlowRun.id).desc())
                )
            )

    def _load(self, run_id: int) -> FlowRun | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(FlowRun, run_id)

    def _key(self, flow: Flow, couple_id: int, owner: int) -> str:
        return f"couple:{couple_id}" if flow.runs_in == "group" else f"person:{owner}"

    # ----- words ---------------------------------------------------------------------------

    def _say(self, chat_id: int, template: str, /, **args: Any) -> Outgoing:
        return Outgoing(chat_id=chat_id, text=self.renderer.render(f"common/{template}", **args))

    def _outgoing(
        self, row: FlowRun, saids: list[Said], members: dict[int, Member]
    ) -> list[Outgoing]:
        """Address the engine's messages: a person's private chat, or the couple's group."""
        group_id: int | None = None
        if row.in_group:
            with Session(self.engine) as session:
                couple = session.get(Couple, row.couple_id)
                group_id = couple.group_chat_id if couple else None
        out: list[Outgoing] = []
        for said in saids:
            buttons = tuple(
                (Button(label, data=f"f:{row.id}:{said.step}:{key}"),)
                for key, label in said.choices
            )
            if said.person is not None:
                out.append(Outgoing(chat_id=said.person, text=said.text, buttons=buttons))
            elif group_id is not None:
                target = members.get(said.force_reply_to) if said.force_reply_to else None
                out.append(
                    Outgoing(
                        chat_id=group_id,
                        text=said.text,
                        buttons=buttons,
                        force_reply=(target is not None or said.force_reply_all) and not buttons,
                        mention=(target.id, target.name) if target else None,
                    )
                )
            else:  # the group was unlinked mid-flow: fall back to both private chats
                out.extend(Outgoing(chat_id=p, text=said.text, buttons=buttons) for p in members)
        return out

    # ----- starting ------------------------------------------------------------------------

    def start(self, event: Event, flow: Flow, *, force: bool = False) -> Reply:
        """Start `flow` for the person behind `event` (asks first if something else runs)."""
        me, couple, other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None or me is None or other is None:
            return self.couples.reply(event, "not_paired")
        if flow.runs_in == "private" and event.in_group:
            return self.couples.reply(event, "private_only")
        in_group = flow.runs_in == "group" and couple.group_chat_id is not None
        if event.in_group and couple.group_chat_id != event.chat_id:
            return self.couples.reply(event, "group_not_linked")
        key = self._key(flow, couple.id, me.id)
        current = next((r for r in self._active_runs(couple.id) if r.active_key == key), None)
        if current is not None and not force:
            return self._ask_to_switch(event, current, flow)
        if current is not None:
            self._end(current, "cancelled")
        members = self._members(couple.id)
        outcome = self.runner.start(flow.id, members[me.id], members[other.id], in_group=in_group)
        with Session(self.engine, expire_on_commit=False) as session:
            row = self._insert(session, flow, couple.id, me.id, outcome, key)
            if row is None:
                session.rollback()
                return self.couples.reply(event, "flow_busy")
            reply = self._apply_effects(session, row, outcome, members)
            session.commit()
        reply.messages[:0] = self._outgoing(row, outcome.messages, members)
        if in_group and not event.in_group:
            reply.add(self._say(event.chat_id, "started_in_group", title=flow.title))
        log.info("flow %s run %s started by %s", flow.id, row.id, me.id)
        return reply

    def _insert(
        self,
        session: Session,
        flow: Flow,
        couple_id: int,
        starter: int,
        outcome: Outcome,
        key: str | None,
    ) -> FlowRun | None:
        now = self.clock()
        run = outcome.run
        row = FlowRun(
            flow_id=flow.id,
            flow_version=flow.version,
            couple_id=couple_id,
            started_by=starter,
            state=run.state,
            step=run.step,
            status=run.status,
            roles=run.roles,
            context=run.context,
            active_key=key if run.status == "active" else None,
            in_group=run.in_group,
            created_at=now,
            updated_at=now,
            ended_at=now if run.status != "active" else None,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None  # the same key is active: someone started a flow a moment ago
        return row

    def _ask_to_switch(self, event: Event, current: FlowRun, flow: Flow) -> Reply:
        title = self.flows[current.flow_id].title if current.flow_id in self.flows else "a flow"
        text = self.renderer.render("common/switch_flow", current=title, new=flow.title)
        buttons = (
            (
                Button(
                    self.renderer.render("common/switch_button", new=flow.title),
                    data=f"sw:{current.id}:{current.version}:{flow.id}",
                ),
            ),
            (Button(self.renderer.render("common/keep_button", current=title), data="keep"),),
        )
        return Reply().add(Outgoing(chat_id=event.chat_id, text=text, buttons=buttons))

    def _apply_effects(
        self, session: Session, row: FlowRun, outcome: Outcome, members: dict[int, Member]
    ) -> Reply:
        """Store agreements, start the flows this step starts; return their messages."""
        reply = Reply()
        now = self.clock()
        for text, days in outcome.agreements:
            session.add(
                Agreement(
                    couple_id=row.couple_id,
                    run_id=row.id,
                    text=text[:4000],
                    created_at=now,
                    follow_up=date.fromordinal(now.date().toordinal() + days) if days else None,
                )
            )
        requests = list(outcome.start_flows)
        if outcome.hand_off is not None:
            requests.append(outcome.hand_off)
        for request in requests:
            flow = self.flows[request.flow]
            partner = next(m for pid, m in members.items() if pid != request.starter)
            started = self.runner.start(
                flow.id,
                members[request.starter],
                partner,
                carry=request.carry,
                in_group=flow.runs_in == "group" and row.in_group,
            )
            key = self._key(flow, row.couple_id, request.starter)
            new_row = self._insert(session, flow, row.couple_id, request.starter, started, key)
            if new_row is None:
                # That person is busy with another flow: start this one beside it.
                new_row = self._insert(session, flow, row.couple_id, request.starter, started, None)
            assert new_row is not None
            reply.messages.extend(self._outgoing(new_row, started.messages, members))
        if outcome.break_minutes and row.id is not None and outcome.run.break_until:
            reply.wake_ups.append((row.id, outcome.run.break_until))
        return reply

    # ----- inputs --------------------------------------------------------------------------

    def _step(self, row: FlowRun, given: Input) -> tuple[Reply, FlowRun | None]:
        """Apply one input with optimistic locking; retry on a concurrent change."""
        for _attempt in range(RETRIES):
            members = self._members(row.couple_id)
            flow = self.flows.get(row.flow_id)
            if flow is None or row.state not in flow.states:
                self._end(row, "cancelled")
                return Reply().add(*(self._say(p, "flow_changed") for p in members)), None
            try:
                outcome = self.runner.handle(run_view(row), members, given)
            except FlowBug:
                log.exception("flow %s run %s is stuck", row.flow_id, row.id)
                self._end(row, "cancelled")
                return Reply().add(*(self._say(p, "flow_changed") for p in members)), None
            if not outcome.changed:
                return self._notice_reply(row, outcome, given, members), row
            with Session(self.engine, expire_on_commit=False) as session:
                if self._write(session, row, outcome):
                    reply = self._apply_effects(session, row, outcome, members)
                    session.commit()
                    fresh = session.get(FlowRun, row.id)
                    reply.messages[:0] = self._outgoing(row, outcome.messages, members)
                    notice = self._notice_reply(row, outcome, given, members)
                    reply.notice = notice.notice
                    if not outcome.messages:
                        reply.messages.extend(notice.messages)
                    return reply, fresh
                session.rollback()
            reloaded = self._load(row.id or 0)
            if reloaded is None:
                break
            row = reloaded
        return Reply(notice=Notice(self.renderer.render("common/step_passed"))), None

    def _write(self, session: Session, row: FlowRun, outcome: Outcome) -> bool:
        run = outcome.run
        now = self.clock()
        done = run.status != "active"
        changed = session.execute(
            update(FlowRun)
            .where(col(FlowRun.id) == row.id, col(FlowRun.version) == row.version)
            .values(
                state=run.state,
                step=run.step,
                roles=run.roles,
                context=run.context,
                status=run.status,
                break_until=run.break_until,
                updated_at=now,
                version=row.version + 1,
                active_key=None if done else row.active_key,
                ended_at=now if done else None,
            )
        ).rowcount  # type: ignore[attr-defined]
        return bool(changed)

    def _notice_reply(
        self, row: FlowRun, outcome: Outcome, given: Input, members: dict[int, Member]
    ) -> Reply:
        reply = Reply()
        if outcome.notice is None:
            reply.messages.extend(self._outgoing(row, outcome.messages, members))
            return reply
        args = dict(outcome.notice_args)
        if isinstance(args.get("until"), datetime):
            args["until"] = args["until"].strftime("%H:%M UTC")
        text = self.renderer.render(f"common/{outcome.notice}", **args)
        reply.notice = Notice(text)
        reply.messages.extend(self._outgoing(row, outcome.messages, members))
        if given.text is not None and not outcome.messages:
            chat = given.person if not row.in_group else None
            reply.messages.extend(self._outgoing(row, [Said(text=text, person=chat)], members))
        return reply

    def text(self, event: Event) -> Reply | None:
        """Free text: give it to the run that waits for it, or None when no run does."""
        assert event.text is not None
        me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None or me is None:
            return None
        runs = [r for r in self._active_runs(couple.id) if event.person.id in r.roles.values()]
        if event.in_group:
            # Only the couple's own group, and only runs that live there.
            if couple.group_chat_id != event.chat_id:
                return None
            runs = [r for r in runs if r.in_group]
        else:
            runs = [r for r in runs if not r.in_group]  # private words never reach the group
        if not runs:
            return None
        if len(event.text) > MAX_ANSWER_CHARS:
            return self.couples.reply(
                event, "too_long", length=len(event.text), limit=MAX_ANSWER_CHARS
            )
        row = next(
            (r for r in runs if self.runner.takes_text_from(run_view(r), event.person.id)),
            runs[0],
        )
        reply, _ = self._step(row, Input(person=event.person.id, at=event.at, text=event.text))
        return reply

    def button(self, event: Event) -> Reply:
        data = event.button or ""
        parts = data.split(":")
        if data == "keep":
            return Reply(notice=Notice(self.renderer.render("common/kept_going")))
        if (
            len(parts) == 4
            and parts[0] in ("f", "sw")
            and parts[1].isdigit()
            and parts[2].isdigit()
        ):
            row = self._load(int(parts[1]))
            if row is not None and self._pressed_where_it_lives(row, event):
                if parts[0] == "sw":
                    return self._switch(event, row, int(parts[2]), parts[3])
                given = Input(
                    person=event.person.id, at=event.at, choice=parts[3], step=int(parts[2])
                )
                reply, _ = self._step(row, given)
                return reply
            if row is not None and event.person.id not in row.roles.values():
                return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def _pressed_where_it_lives(self, row: FlowRun, event: Event) -> bool:
        """A button counts only from a participant, in the chat where the run lives."""
        if event.person.id not in row.roles.values():
            return False
        if not event.in_group:
            return True  # private chats are the person's own
        with Session(self.engine) as session:
            couple = session.get(Couple, row.couple_id)
        return couple is not None and couple.group_chat_id == event.chat_id

    def _switch(self, event: Event, row: FlowRun, version: int, flow_id: str) -> Reply:
        flow = self.flows.get(flow_id)
        if flow is None or row.version != version or row.status != "active":
            return Reply(notice=Notice(self.renderer.render("common/step_passed")))
        reply = self._leave(row, event.person.id)
        return reply.extend(self.start(event, flow, force=True))

    # ----- leaving -------------------------------------------------------------------------

    def _end(self, row: FlowRun, status: str) -> bool:
        with Session(self.engine) as session:
            changed = session.execute(
                update(FlowRun)
                .where(col(FlowRun.id) == row.id, col(FlowRun.status) == "active")
                .values(
                    status=status,
                    active_key=None,
                    ended_at=self.clock(),
                    updated_at=self.clock(),
                    version=row.version + 1,
                )
            ).rowcount  # type: ignore[attr-defined]
            session.commit()
        return bool(changed)

    def _leave(self, row: FlowRun, person: int) -> Reply:
        if not self._end(row, "cancelled"):
            return Reply()
        members = self._members(row.couple_id)
        title = self.flows[row.flow_id].title if row.flow_id in self.flows else "the flow"
        name = members[person].name if person in members else ""
        others = [p for p in members if p != person and p in row.roles.values()]
        saids = [
            Said(
                text=self.renderer.render("common/flow_left", name=name, title=title),
                person=None if row.in_group else p,
            )
            for p in (others[:1] if row.in_group else others)
        ]
        reply = Reply()
        reply.messages.extend(self._outgoing(row, saids, members))
        return reply

    def cancel(self, event: Event) -> Reply:
        """Leave the person's flow (their own private one first, else one they are part of)."""
        _me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None:
            return self.couples.reply(event, "cancel_none")
        runs = [r for r in self._active_runs(couple.id) if event.person.id in r.roles.values()]
        if event.in_group:
            runs = [r for r in runs if r.in_group and couple.group_chat_id == event.chat_id]
        else:
            runs.sort(key=lambda r: r.active_key != f"person:{event.person.id}")
        if not runs:
            return self.couples.reply(event, "cancel_none")
        row = runs[0]
        title = self.flows[row.flow_id].title if row.flow_id in self.flows else "the flow"
        reply = self._leave(row, event.person.id)
        if not row.in_group or not event.in_group:
            reply.messages.insert(0, self._say(event.chat_id, "cancelled", title=title))
        return reply

    # ----- breaks --------------------------------------------------------------------------

    def breaks_to_wake(self) -> list[tuple[int, datetime]]:
        """Runs on a break, for rebuilding their wake-up timers at start-up."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(FlowRun).where(
                    FlowRun.status == "active", col(FlowRun.break_until).is_not(None)
                )
            )
            return [(r.id, r.break_until) for r in rows if r.id and r.break_until]

    def end_break(self, run_id: int) -> Reply:
        """The break is over: check back and ask the current question again."""
        for _attempt in range(RETRIES):
            row = self._load(run_id)
            if row is None or row.status != "active" or row.break_until is None:
                return Reply()
            if row.break_until > self.clock() + timedelta(seconds=1):
                return Reply(wake_ups=[(run_id, row.break_until)])  # woken early: sleep again
            members = self._members(row.couple_id)
            outcome = self.runner.resume(run_view(row), members)
            with Session(self.engine) as session:
                if self._write(session, row, outcome):
                    session.commit()
                    return Reply(messages=self._outgoing(row, outcome.messages, members))
        return Reply()

    # ----- agreements ----------------------------------------------------------------------

    def agreements(self, event: Event) -> Reply:
        _me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is None or couple.id is None:
            return self.couples.reply(event, "not_paired")
        if event.in_group and couple.group_chat_id != event.chat_id:
            return self.couples.reply(event, "group_not_linked")
        with Session(self.engine) as session:
            rows = list(
                session.exec(
                    select(Agreement)
                    .where(Agreement.couple_id == couple.id)
                    .order_by(col(Agreement.created_at).desc())
                    .limit(20)
                )
            )
        items = [
            {
                "text": a.text,
                "date": a.created_at.strftime("%d %b %Y"),
                "follow_up": a.follow_up.strftime("%d %b %Y") if a.follow_up else None,
            }
            for a in rows
        ]
        return self.couples.reply(event, "agreements", items=items)
