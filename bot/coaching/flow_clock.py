"""What the clock does to flow runs: a `wait:` step that is over, a break that ended, a run
that expired, and the reminders a safety answer holds back.

Part of FlowService (bot/coaching/flows.py): the run writes go through the same store and
version check as a person's answer; what it needs from the service is declared below.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.outbox import Outgoing, Reply
from bot.core.work import Tx
from bot.engine.runner import FlowRunner, Outcome, Run, Said
from bot.engine.schema import Flow, duration_minutes
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView, RunStore, Timers, run_view

RETRIES = 5


def timers(flow: Flow, run: Run, now: datetime) -> Timers:
    """The new step's reminder and expiry, from the state or else the flow."""
    if run.status != "active":
        return None, None, None
    state = flow.states[run.state]
    expires = now + timedelta(minutes=duration_minutes(state.expires or flow.expires))
    if state.wait is not None:  # nobody to remind: the clock moves it on
        wake = now + timedelta(minutes=duration_minutes(state.wait))
        return None, max(expires, wake + timedelta(hours=1)), wake
    remind = duration_minutes(state.reminder or flow.reminder)
    return now + timedelta(minutes=remind), expires, None


class FlowClock:
    store: RunStore
    runner: FlowRunner

    def outgoing(self, row: RunRow, saids: list[Said], couple: CoupleView) -> list[Outgoing]:
        raise NotImplementedError

    def _timers(self, run: Run, now: datetime) -> Timers:
        raise NotImplementedError

    def _apply_effects(self, tx: Tx, row: RunRow, outcome: Outcome, couple: CoupleView) -> Reply:
        raise NotImplementedError

    def hold_reminders(self, tx: Tx, person: int) -> None:
        """Pause the person's flows: no reminder until they move on (safety first)."""
        couple = self.store.couple_of(tx.conn, person)
        if couple is None:
            return
        for row in couple.runs:
            if person in row.roles.values():
                self.store.clear_reminder(tx.conn, row)

    def prompt_again_for(self, tx: Tx, person: int) -> list[Outgoing]:
        """The question a private run is waiting on this person for, asked again."""
        couple = self.store.couple_of(tx.conn, person)
        if couple is None:
            return []
        for row in couple.runs:
            run = run_view(row)
            if row.in_group or person not in self.runner.waiting_for(run):
                continue
            saids = [s for s in self.runner.prompt_again(run, couple.members) if s.person == person]
            return self.outgoing(row, saids, couple)
        return []

    # ----- breaks --------------------------------------------------------------------------

    def expiry_notes(self, tx: Tx, row: RunRow) -> list[Outgoing]:
        """What the flow says privately when `row` expires (its `on_expiry`)."""
        loaded = self.store.load(tx.conn, row.id or 0)
        if loaded is None:
            return []
        _row, couple = loaded
        return self.outgoing(row, self.runner.on_expiry(run_view(row), couple.members), couple)

    def wake(self, tx: Tx, run_id: int) -> Reply:
        """A `wait:` step is over: the run moves on by itself (the clock calls this)."""
        conn, now = tx.conn, tx.now
        loaded = self.store.load(conn, run_id)
        if loaded is None:
            return Reply()
        row, couple = loaded
        if (
            row.status != "active"
            or row.wake_at is None
            or row.wake_at > now + timedelta(seconds=1)
        ):
            return Reply()  # moved on meanwhile, or not yet
        outcome = self.runner.wake(run_view(row), couple.members)
        if not outcome.changed:
            return Reply()
        if not self.store.write(conn, row, outcome.run, now, self._timers(outcome.run, now)):
            return Reply()  # somebody else moved it: the clock finds it again if due
        reply = self._apply_effects(tx, row, outcome, couple)
        reply.messages[:0] = self.outgoing(row, outcome.messages, couple)
        return reply

    def end_break(self, tx: Tx, run_id: int) -> Reply:
        """The break is over: check back and ask the current question again."""
        conn, now = tx.conn, tx.now
        for _attempt in range(RETRIES):
            loaded = self.store.load(conn, run_id)
            if loaded is None:
                return Reply()
            row, couple = loaded
            if row.status != "active" or row.break_until is None:
                return Reply()
            if row.break_until > now + timedelta(seconds=1):
                return Reply()  # not yet: the clock finds it again when it is due
            outcome = self.runner.resume(run_view(row), couple.members)
            if self.store.write(conn, row, outcome.run, now, self._timers(outcome.run, now)):
                return Reply(messages=self.outgoing(row, outcome.messages, couple))
        return Reply()
