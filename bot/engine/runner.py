"""The flow runner: one generic walker for every flow. It never imports `telegram`.

Give it a run (where a couple is in a flow) and an input (who typed or pressed what,
when); it returns the run's next version and the messages to send, addressed to a
person or to the couple's group. Storing the run and sending the messages is the
caller's job, which keeps the engine pure and easy to test. The work is split by what
it is about: bot/engine/speaking.py (messages), moving.py (states), inputs.py (what a
person did), and this module's public API.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.engine.inputs import Inputs
from bot.engine.marks import Marks
from bot.engine.run import (
    BREAK,
    REACHED_PARTNER,
    RESUME,
    FlowBug,
    Input,
    Member,
    Outcome,
    Run,
    Said,
    StartRequest,
    evaluate,
    own_copy,
)

__all__ = [
    "BREAK",
    "REACHED_PARTNER",
    "FlowBug",
    "FlowRunner",
    "Input",
    "Member",
    "Outcome",
    "Run",
    "Said",
    "StartRequest",
    "evaluate",
]


class FlowRunner(Inputs):
    # ----- public API ----------------------------------------------------------------------

    def start(
        self,
        flow_id: str,
        starter: Member,
        partner: Member,
        *,
        in_group: bool,
        carry: dict[str, Any] | None = None,
        authors: dict[str, int] | None = None,
    ) -> Outcome:
        """Begin a flow: assign roles, seed the context, enter the start state."""
        flow = self.flows[flow_id]
        holders = {"starter": starter.id, "partner": partner.id}
        run = Run(
            flow_id=flow_id,
            state=flow.start,
            step=0,
            roles={role: holders[who] for role, who in flow.roles.items()},
            context={**copy.deepcopy(flow.defaults), **(carry or {})},
            in_group=in_group,
            marks=Marks(by=dict(authors or {})),
        )
        outcome = Outcome(run=run, changed=True)
        self._enter(flow, outcome, flow.start, {starter.id: starter, partner.id: partner})
        return self._note_seen(outcome)

    def wake(self, run: Run, members: dict[int, Member]) -> Outcome:
        """A `wait:` step is over: go on to its `next`. The run passed in is not modified."""
        flow = self.flows[run.flow_id]
        state = flow.states[run.state]
        outcome = Outcome(run=own_copy(run), changed=False)
        if run.status != "active" or state.wait is None or state.next is None:
            return outcome
        outcome.changed = True
        self._advance(flow, outcome, state.next, members)
        return self._note_seen(outcome)

    def handle(self, run: Run, members: dict[int, Member], given: Input) -> Outcome:
        """Apply one input to a run. The run passed in is not modified."""
        return self._note_seen(self._handle(run, members, given))

    @staticmethod
    def seen_by(run: Run) -> list[int]:
        """Who this run has spoken to so far: only they may hear that it ended."""
        return list(run.marks.seen)

    def _note_seen(self, outcome: Outcome) -> Outcome:
        """Remember who the run has addressed (a Let go the partner never saw stays unseen)."""
        run = outcome.run
        seen = set(self.seen_by(run))
        for said in outcome.messages:
            seen |= set(run.roles.values()) if said.person is None else {said.person}
        if seen != set(self.seen_by(run)):
            run.marks.seen = sorted(seen)
            outcome.changed = outcome.changed or bool(outcome.messages)
        return outcome

    def _handle(self, run: Run, members: dict[int, Member], given: Input) -> Outcome:
        flow = self.flows[run.flow_id]
        run = own_copy(run)
        outcome = Outcome(run=run)
        if run.status == "done" and given.choice is not None and given.step == run.step:
            return self._answer_after_end(flow, outcome, members, given)
        if run.status != "active":
            return self._notice(outcome, "step_passed")
        if given.person not in run.roles.values():
            return self._notice(outcome, "not_for_you")
        # "We need a break" counts from any message of the run: in a group, a text step keeps
        # Telegram's reply box instead of a keyboard, so the last break button may be older.
        if given.choice not in (None, BREAK) and given.step != run.step:
            return self._notice(outcome, "step_passed")
        if run.break_until is not None:
            if given.choice == RESUME:
                return self.resume(run, members)
            return self._notice(outcome, "still_on_break", until=run.break_until)
        state = flow.states[run.state]
        if given.choice == BREAK and flow.break_ is not None and state.breakable:
            return self._take_break(flow, outcome, members, given)
        if given.choice is not None:
            return self._choose(flow, state, outcome, members, given)
        return self._text(flow, state, outcome, members, given)

    def resume(self, run: Run, members: dict[int, Member]) -> Outcome:
        """End a break: say so and ask the current step's question again."""
        flow = self.flows[run.flow_id]
        run = own_copy(run)
        outcome = Outcome(run=run, changed=True)
        run.break_until = None
        outcome.messages.append(
            self._said(flow, run, members, "common/break_over", flow.states[run.state], None)
        )
        self._prompt(flow, outcome, members)
        return outcome

    def on_expiry(self, run: Run, members: dict[int, Member]) -> list[Said]:
        """The flow's own words to a role when a run expires (`on_expiry`), privately."""
        flow = self.flows[run.flow_id]
        variables = self._variables(flow, run, members)
        said = []
        for role, template in flow.on_expiry.items():
            person = run.roles.get(role)
            if person is None:
                continue
            # A template may say nothing to a role: the way out sends no empty message.
            text = self.renderer.render(f"{flow.id}/{template}", **variables)
            said.append(Said(text=text, person=person, step=run.step))
        return said

    def prompt_again(self, run: Run, members: dict[int, Member]) -> list[Said]:
        """The current step's message(s) again, e.g. for a reminder."""
        outcome = Outcome(run=own_copy(run))
        self._prompt(self.flows[run.flow_id], outcome, members)
        return outcome.messages

    def asks_privately(self, run: Run, person: int) -> bool:
        """A group run waiting for this person's words in their private chat."""
        state = self.flows[run.flow_id].states[run.state]
        return (
            run.in_group
            and state.in_private
            and self.takes_text_from(run, person)
            and str(person) not in run.marks.answered
        )

    def takes_text_from(self, run: Run, person: int) -> bool:
        flow = self.flows[run.flow_id]
        state = flow.states[run.state]
        return (
            run.status == "active"
            and run.break_until is None
            and state.takes_text
            and person in self._allowed(flow, state, run)
        )
