"""Flow runs meet the couple: starting, answering, pressing, breaks, cancelling.

This is where the pure FlowRunner meets storage. Every change to a run is made in
the unit of work it is given (`tx`), with `UPDATE flowrun ... WHERE id = ? AND version = ?`, so
two partners answering at once can never advance a run twice: the loser reloads and
tries again. Telegram-free: it takes the unit and Events, and returns Replies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.coaching.agreements import AgreementService
from bot.coaching.couples import CoupleService
from bot.coaching.flow_clock import RETRIES, FlowClock, timers
from bot.coaching.run_messages import addressed
from bot.core.events import Event
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.engine.runner import FlowBug, FlowRunner, Input, Outcome, Run, Said
from bot.engine.schema import Flow
from bot.safety.care import careful_person
from bot.storage.agreements import Agreements
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView, RunStore, Timers, run_view
from bot.words.buttons import FlowChoice, KeepFlow, SwitchFlow
from bot.words.text import Text
from bot.words.texts import Renderer

log = logging.getLogger(__name__)
# An effect runs inside the step's transaction and may answer with messages.
Effect = Callable[[Connection, RunRow, CoupleView, dict[str, Any], datetime], list[Outgoing]]
# A seed gives a new run context from the couple's data (e.g. this week's appreciations).
Seed = Callable[[Connection, int, datetime], dict[str, Any]]
# Longer answers are refused with a kind note (Telegram itself caps a message at 4,096).
MAX_ANSWER_CHARS = 2000


class FlowService(FlowClock):
    def __init__(
        self,
        flows: dict[str, Flow],
        renderer: Renderer,
        couples: CoupleService,
    ) -> None:
        self.store = RunStore()
        self.flows = flows
        self.renderer = renderer
        self.couples = couples
        self.runner = FlowRunner(flows, renderer)
        # Named effects and context seeds flows may ask for (see bot/coaching/practices.py).
        self.effects: dict[str, Effect] = {}
        self.seeds: dict[str, Seed] = {}

    # ----- lookups and words ---------------------------------------------------------------

    def by_command(self, command: str) -> Flow | None:
        return next((f for f in self.flows.values() if f.command == command), None)

    def by_role(self, role: str) -> Flow | None:
        """The flow that fills `role` (coaching/roles.py); `flows check` makes sure there is one."""
        return next((f for f in self.flows.values() if role in f.fills), None)

    def title(self, row: RunRow) -> str | Text:
        flow = self.flows.get(row.flow_id)
        return self.renderer.labels.title(flow) if flow else "the flow"

    def _timers(self, run: Run, now: datetime) -> Timers:
        return timers(self.flows[run.flow_id], run, now)

    def _key(self, flow: Flow, couple_id: int, owner: int) -> str:
        return f"couple:{couple_id}" if flow.runs_in == "group" else f"person:{owner}"

    def _notice(self, template: str, /, **args: Any) -> Reply:
        return Reply(notice=Notice(self.renderer.render(f"common/{template}", **args)))

    def outgoing(self, row: RunRow, saids: list[Said], couple: CoupleView) -> list[Outgoing]:
        return addressed(self.renderer, row, saids, couple)

    # ----- starting ------------------------------------------------------------------------

    def start(self, tx: Tx, event: Event, flow: Flow, *, force: bool = False) -> Reply:
        """Start `flow` for the person behind `event` (asks first if something else runs)."""
        me, conn, now = event.person.id, tx.conn, tx.now
        couple = self.store.couple_of(conn, me)
        if couple is None or len(couple.members) < 2:
            return self.couples.not_paired(tx, event)
        if flow.runs_in == "private" and event.in_group:
            return self.couples.reply(event, "private_only")
        if event.in_group and couple.group_chat_id != event.chat_id:
            return self.couples.reply(event, "group_not_linked")
        in_group = flow.runs_in == "group" and couple.group_chat_id is not None
        key = self._key(flow, couple.id, me)
        current = next((r for r in couple.runs if r.active_key == key), None)
        if current is not None and not force:
            return self._ask_to_switch(event, current, flow)
        if current is not None:
            self.store.end(conn, current, "cancelled", now)
        partner = next(m for pid, m in couple.members.items() if pid != me)
        carry: dict[str, Any] = {}
        for seed in flow.seed:
            carry.update(self.seeds[seed](conn, couple.id, now))
        if careful_person(conn, me, now):
            carry["careful"] = True  # shown help lately: flows keep their things private
        outcome = self.runner.start(
            flow.id, couple.members[me], partner, in_group=in_group, carry=carry
        )
        row = self.store.insert(
            conn,
            flow_id=flow.id,
            flow_version=flow.version,
            couple_id=couple.id,
            starter=me,
            run=outcome.run,
            key=key,
            now=now,
            timers=self._timers(outcome.run, now),
        )
        if row is None:
            return self.couples.reply(event, "flow_busy")
        reply = self._apply_effects(tx, row, outcome, couple)
        reply.messages[:0] = self.outgoing(row, outcome.messages, couple)
        if in_group and not event.in_group:
            reply.add(
                self.couples.say(
                    event.chat_id, "started_in_group", title=self.renderer.labels.title(flow)
                )
            )
        log.info("flow %s run %s started by %s", flow.id, row.id, me)
        return reply

    def start_for(
        self, tx: Tx, person: int, flow_id: str, carry: dict[str, Any]
    ) -> tuple[RunRow | None, list[Outgoing]]:
        """Start a flow for someone without them asking (the scheduler does, e.g. "how was
        your you time?"). Beside any flow they are in, never replacing it."""
        conn = tx.conn
        couple = self.store.couple_of(conn, person)
        flow = self.flows.get(flow_id)
        if couple is None or flow is None or len(couple.members) < 2:
            return None, []
        partner = next(m for pid, m in couple.members.items() if pid != person)
        outcome = self.runner.start(
            flow_id, couple.members[person], partner, in_group=False, carry=carry
        )
        args: dict[str, Any] = dict(
            flow_id=flow_id,
            flow_version=flow.version,
            couple_id=couple.id,
            starter=person,
            run=outcome.run,
            now=tx.now,
            timers=self._timers(outcome.run, tx.now),
        )
        key = self._key(flow, couple.id, person)
        row = self.store.insert(conn, key=key, **args) or self.store.insert(conn, key=None, **args)
        assert row is not None
        return row, self.outgoing(row, outcome.messages, couple)

    def _ask_to_switch(self, event: Event, current: RunRow, flow: Flow) -> Reply:
        title = self.title(current)
        new = self.renderer.labels.title(flow)
        text = self.renderer.render("common/switch_flow", current=title, new=new)
        buttons = (
            (
                Button(
                    self.renderer.label("common/switch_button", new=new),
                    data=SwitchFlow(current.id or 0, current.version, flow.id).pack(),
                ),
            ),
            (
                Button(
                    self.renderer.label("common/keep_button", current=title),
                    data=KeepFlow().pack(),
                ),
            ),
        )
        return Reply().add(Outgoing(chat_id=event.chat_id, text=text, buttons=buttons))

    def _apply_effects(self, tx: Tx, row: RunRow, outcome: Outcome, couple: CoupleView) -> Reply:
        """Store agreements, start the flows this step starts; return their messages."""
        reply = Reply()
        conn, now = tx.conn, tx.now
        for text, days, author in outcome.agreements:
            follow_up, follow_up_at = (
                AgreementService.due_at(conn, row.couple_id, days, now) if days else (None, None)
            )
            Agreements.add(conn, row.couple_id, row.id, text, follow_up, now, author, follow_up_at)
        for name, params in outcome.effects:
            reply.messages.extend(self.effects[name](conn, row, couple, params, now))
        requests = list(outcome.start_flows)
        if outcome.hand_off is not None:
            requests.append(outcome.hand_off)
        for request in requests:
            flow = self.flows[request.flow]
            partner = next(m for pid, m in couple.members.items() if pid != request.starter)
            started = self.runner.start(
                flow.id,
                couple.members[request.starter],
                partner,
                carry=request.carry,
                authors=request.authors,
                in_group=flow.runs_in == "group" and row.in_group,
            )
            args: dict[str, Any] = dict(
                flow_id=flow.id,
                flow_version=flow.version,
                couple_id=row.couple_id,
                starter=request.starter,
                run=started.run,
                now=now,
                timers=self._timers(started.run, now),
            )
            key = self._key(flow, row.couple_id, request.starter)
            # When that person is busy with another flow, this one starts beside it.
            new_row = self.store.insert(conn, key=key, **args) or self.store.insert(
                conn, key=None, **args
            )
            assert new_row is not None
            reply.messages.extend(self.outgoing(new_row, started.messages, couple))
        return reply

    # ----- inputs --------------------------------------------------------------------------

    def _step(self, tx: Tx, row: RunRow, couple: CoupleView, given: Input) -> Reply:
        """Apply one input with optimistic locking; on a concurrent change, reload and retry."""
        conn, now = tx.conn, tx.now
        for _attempt in range(RETRIES):
            flow = self.flows.get(row.flow_id)
            try:
                if row.status != "active" and (flow is None or row.state not in flow.states):
                    return self._notice("step_passed")  # a button under an old, ended run
                if flow is None or row.state not in flow.states:
                    raise FlowBug(f"run {row.id} is in {row.flow_id}.{row.state}, now unknown")
                outcome = self.runner.handle(run_view(row), couple.members, given)
            except FlowBug:
                log.exception("flow run %s cannot go on; closing it", row.id)
                self.store.end(conn, row, "cancelled", now)
                return Reply().add(*(self.couples.say(p, "flow_changed") for p in couple.members))
            if not outcome.changed:
                return self._notice_reply(row, outcome, given, couple)
            # A new step (or the end of a break) starts its reminder and expiry afresh.
            renew = outcome.run.step != row.step or row.break_until is not None
            timers = self._timers(outcome.run, now) if renew else None
            if self.store.write(conn, row, outcome.run, now, timers):
                reply = self._apply_effects(tx, row, outcome, couple)
                notice = self._notice_reply(row, outcome, given, couple)
                reply.messages[:0] = notice.messages
                reply.notice = notice.notice
                return reply
            loaded = self.store.load(conn, row.id or 0)
            if loaded is None:
                break
            row, couple = loaded
        return self._notice("step_passed")

    def _notice_reply(
        self, row: RunRow, outcome: Outcome, given: Input, couple: CoupleView
    ) -> Reply:
        """The outcome's messages, and its notice: a toast for a press, a message for text."""
        reply = Reply(messages=self.outgoing(row, outcome.messages, couple))
        if outcome.notice is None:
            return reply
        args = dict(outcome.notice_args)
        text = self.renderer.render(f"common/{outcome.notice}", **args)
        reply.notice = Notice(text)
        if given.text is not None and not outcome.messages:
            to = None if row.in_group and not given.private else given.person
            reply.messages.extend(self.outgoing(row, [Said(text=text, person=to)], couple))
        return reply

    def text(self, tx: Tx, event: Event) -> Reply | None:
        """Free text: give it to the run that waits for it, or None when no run does."""
        assert event.text is not None
        if (found := self._takes_text(tx, event)) is None:
            return None
        row, couple = found
        given = Input(
            person=event.person.id, at=event.at, text=event.text, private=not event.in_group
        )
        return self._step(tx, row, couple, given)

    def waits_for_text(self, tx: Tx, event: Event) -> bool:
        """Whether a run waits for this person's words here (then a voice note is offered)."""
        return self._takes_text(tx, event) is not None

    def _takes_text(self, tx: Tx, event: Event) -> tuple[RunRow, CoupleView] | None:
        person = event.person.id
        couple = self.store.couple_of(tx.conn, person)
        if couple is None:
            return None
        # Only runs that have spoken to this person: a Let go not yet sent is invisible.
        runs = [r for r in couple.runs if person in self.runner.seen_by(run_view(r))]
        if event.in_group:
            if couple.group_chat_id != event.chat_id:
                return None  # only the couple's own group
            runs = [r for r in runs if r.in_group]
        else:
            # Private words never reach the group, unless a group flow asked for them in
            # private (its words said where they will be shown) and waits for them now.
            runs = [
                r for r in runs if not r.in_group or self.runner.asks_privately(run_view(r), person)
            ]
        if not runs:
            return None
        row = next((r for r in runs if self.runner.takes_text_from(run_view(r), person)), runs[0])
        return row, couple

    def button(self, tx: Tx, event: Event, data: FlowChoice | SwitchFlow | KeepFlow) -> Reply:
        if isinstance(data, KeepFlow):
            return self._notice("kept_going")
        loaded = self.store.load(tx.conn, data.run_id)
        if loaded is None:
            return self._notice("button_unknown")
        row, couple = loaded
        if event.person.id not in row.roles.values():
            return self._notice("not_for_you")
        if event.in_group and couple.group_chat_id != event.chat_id:
            return self._notice("button_unknown")  # a button only counts where its run lives
        if isinstance(data, SwitchFlow):
            return self._switch(tx, event, row, data.version, data.flow_id)
        given = Input(
            person=event.person.id,
            at=event.at,
            choice=data.choice,
            step=data.step,
            private=not event.in_group,
        )
        return self._step(tx, row, couple, given)

    def _switch(self, tx: Tx, event: Event, row: RunRow, version: int, flow_id: str) -> Reply:
        flow = self.flows.get(flow_id)
        if flow is None or row.version != version or row.status != "active":
            return self._notice("step_passed")
        reply = self._leave(tx, row, event.person.id)
        return reply.extend(self.start(tx, event, flow, force=True))

    # ----- leaving -------------------------------------------------------------------------

    def _leave(self, tx: Tx, row: RunRow, person: int) -> Reply:
        """End the run and tell whoever else is in it (the group, or the other partner)."""
        if not self.store.end(tx.conn, row, "cancelled", tx.now):
            return Reply()
        couple = self.store.couple(tx.conn, row.couple_id)
        if couple is None:
            return Reply()
        name = couple.members[person].name if person in couple.members else ""
        text = self.renderer.render("common/flow_left", name=name, title=self.title(row))
        # Only those the run has spoken to hear it ended: an unsent Let go stays private.
        others = [p for p in self.runner.seen_by(run_view(row)) if p != person]
        saids = (
            [Said(text=text, person=None)]
            if row.in_group
            else [Said(text=text, person=p) for p in others]
        )
        return Reply(messages=self.outgoing(row, saids, couple))

    def cancel(self, tx: Tx, event: Event) -> Reply:
        """Leave the person's flow (their own private one first, else one they are part of)."""
        couple = self.store.couple_of(tx.conn, event.person.id)
        if event.in_group and (couple is None or couple.group_chat_id != event.chat_id):
            owner = self.couples.couple_by_group(tx, event.chat_id)
            if owner is not None:
                # Someone else's group: what runs there is not theirs to end, and "nothing is
                # running" would be untrue for the couple reading along. Quiet on purpose.
                return Reply()
        if couple is None:
            return self.couples.reply(event, "cancel_none")
        runs = [r for r in couple.runs if event.person.id in self.runner.seen_by(run_view(r))]
        if event.in_group:
            runs = [r for r in runs if r.in_group and couple.group_chat_id == event.chat_id]
        else:
            runs.sort(key=lambda r: r.active_key != f"person:{event.person.id}")
        if not runs:
            return self.couples.reply(event, "cancel_none")
        row = runs[0]
        reply = self._leave(tx, row, event.person.id)
        if not (row.in_group and event.in_group):
            reply.messages.insert(
                0, self.couples.say(event.chat_id, "cancelled", title=self.title(row))
            )
        return reply
