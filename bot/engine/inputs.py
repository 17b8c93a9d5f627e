"""What a person's input does to a run: a press (one choice, a pick, a vote both must
make, an answer after the end), typed words, a break."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.engine.moving import Moving
from bot.engine.run import (
    RESUME,
    FlowBug,
    Input,
    Member,
    Outcome,
    Run,
    Said,
    pressed,
)
from bot.engine.schema import Choice, Flow, State
from bot.words.labels import fill


class Inputs(Moving):
    def waiting_for(self, run: Run) -> set[int]:
        """Who the run waits on now (both partners when either may answer)."""
        flow = self.flows[run.flow_id]
        state = flow.states[run.state]
        if run.status != "active" or not state.waits:
            return set()
        allowed = self._allowed(flow, state, run)
        answered = {int(k) for k in run.marks.answered}
        return allowed - answered

    def _answer_after_end(
        self, flow: Flow, outcome: Outcome, members: dict[int, Member], given: Input
    ) -> Outcome:
        """A button on a run's last message ("💛 Thank you" under an appreciation): the run
        ended when the message was sent, so nobody was held waiting; one answer is taken."""
        run = outcome.run
        state = flow.states[run.state]
        choice = state.choices.get(given.choice or "") if state.end else None
        if choice is None or choice.next is None:
            return self._notice(outcome, "step_passed")
        if given.person not in self._allowed(flow, state, run):
            return self._notice(outcome, "not_for_you")
        if state.save:
            run.context[state.save] = given.choice
        outcome.changed = True
        self._advance(flow, outcome, choice.next, members)
        return self._notice(outcome, "answer_sent")

    def _choose(
        self, flow: Flow, state: State, outcome: Outcome, members: dict[int, Member], given: Input
    ) -> Outcome:
        run = outcome.run
        choice = state.choices.get(given.choice or "")
        if choice is None:
            return self._notice(outcome, "step_passed")
        if given.person not in self._allowed(flow, state, run):
            return self._not_your_turn(flow, state, outcome, members, None)
        if state.pick:
            if choice.next is None:
                return self._pick(flow, state, outcome, members, given)
            if not run.context.get(state.save or ""):
                return self._notice(outcome, "pick_first")
            outcome.changed = True
            self._advance(flow, outcome, choice.next, members)
            return outcome
        if state.takes_text and state.from_ == "both" and isinstance(choice.value, str):
            # A suggested answer ("Nothing comes to mind") is this person's words, like text.
            lang = members[given.person].lang if given.person in members else "en"
            words = self.renderer.labels.value(flow, run.state, given.choice or "").in_(lang)
            return self._text(flow, state, outcome, members, replace(given, text=words))
        if state.collect and state.min_each and not choice.alone:
            written = sum(
                1
                for item in run.context.get(state.save or "", [])
                if item.get("by") == given.person
            )
            if written < state.min_each:
                return self._notice(outcome, "write_first", count=state.min_each)
        if state.from_ == "both" and not choice.alone:
            votes = run.marks.votes
            votes[str(given.person)] = given.choice or ""
            outcome.changed = True
            if len(votes) < len(set(run.roles.values())):
                others = [members[p].name for p in run.roles.values() if p != given.person]
                return self._notice(outcome, "waiting_for", name=", ".join(others))
            if len(set(votes.values())) > 1:
                return self._disagreed(flow, state, outcome, members)
        # In a text state, `save` names the text, and a button with a `value` (a suggested
        # answer, like a topic) answers it too.
        if state.save and (
            not state.takes_text or (choice.value is not None and not state.collect)
        ):
            self._save_choice(flow, state, run, members, given, choice)
        target = choice.next or state.next
        if target is None:
            raise FlowBug(f"{flow.id}.{run.state}: choice {given.choice} leads nowhere")
        outcome.changed = True
        self._advance(flow, outcome, target, members)
        return outcome

    def _save_choice(
        self,
        flow: Flow,
        state: State,
        run: Run,
        members: dict[int, Member],
        given: Input,
        choice: Choice,
    ) -> None:
        """The chosen value under `save`, the button under `<save>_label` (said in each
        reader's language, in this flow or one it is carried to), and who chose it."""
        assert state.save is not None
        run.context[state.save] = choice.value if choice.value is not None else given.choice
        if isinstance(choice.value, str):  # a suggested answer: words, in the chooser's
            lang = members[given.person].lang if given.person in members else "en"
            said = self.renderer.labels.value(flow, run.state, given.choice or "")
            run.context[state.save] = said.in_(lang)
        names = {role: members[p].name for role, p in run.roles.items() if p in members}
        button = pressed(flow.id, run.state, given.choice or "", fill(choice.label, names))
        run.context[f"{state.save}_label"] = button
        run.marks.by[state.save] = run.marks.by[f"{state.save}_label"] = given.person

    def _pick(
        self, flow: Flow, state: State, outcome: Outcome, members: dict[int, Member], given: Input
    ) -> Outcome:
        """One more of up to `pick` choices (feelings: "Hurt", "Flooded", ...); the last
        allowed one moves on by itself."""
        run = outcome.run
        save = state.save or ""
        picked: list[str] = run.context.setdefault(save, [])
        if given.choice in picked:
            return self._notice(outcome, "picked_already")
        picked.append(given.choice or "")
        label = state.choices[given.choice or ""].label
        button = pressed(flow.id, run.state, given.choice or "", label)
        run.context.setdefault(f"{save}_labels", []).append(button)
        run.marks.by[save] = run.marks.by[f"{save}_labels"] = given.person
        outcome.changed = True
        assert state.pick is not None
        if len(picked) >= state.pick:
            if state.next is None:
                raise FlowBug(f"{flow.id}.{run.state}: a full pick leads nowhere")
            self._advance(flow, outcome, state.next, members)
            return outcome
        return self._notice(outcome, "picked", count=state.pick - len(picked))

    def _disagreed(
        self, flow: Flow, state: State, outcome: Outcome, members: dict[int, Member]
    ) -> Outcome:
        """Both chose, differently: never a silent wait. Both are told what each chose and
        choose again; the second time, a step with `disagree` goes there instead."""
        run = outcome.run
        names = {role: members[p].name for role, p in run.roles.items() if p in members}
        chosen = [
            {
                "name": members[int(p)].name,
                "label": self.renderer.labels.choice(flow, run.state, key, names),
            }
            for p, key in run.marks.votes.items()
            if int(p) in members
        ]
        run.marks.votes.clear()
        run.marks.disagreed += 1
        final = run.marks.disagreed >= 2 and state.disagree is not None
        for person in self._audience(flow, run, state.to):
            outcome.messages.append(
                self._common(run, "votes_differ", person, chosen=chosen, final=final)
            )
        if final:
            assert state.disagree is not None
            self._advance(flow, outcome, state.disagree, members)
        else:
            self._prompt(flow, outcome, members)  # the same step's buttons, to choose again
        return outcome

    def _text(
        self, flow: Flow, state: State, outcome: Outcome, members: dict[int, Member], given: Input
    ) -> Outcome:
        run = outcome.run
        text = (given.text or "").strip()
        if not state.takes_text:
            if given.person not in self.waiting_for(run) and self.waiting_for(run):
                return self._not_your_turn(flow, state, outcome, members, given.person)
            return self._notice(outcome, "use_buttons")
        if given.person not in self._allowed(flow, state, run):
            return self._not_your_turn(flow, state, outcome, members, given.person)
        if not text:
            return self._notice(outcome, "use_buttons")
        if state.collect and state.max_each:
            mine = [i for i in run.context.get(state.save or "", []) if i.get("by") == given.person]
            if len(mine) >= state.max_each:
                return self._notice(outcome, "enough_written", count=state.max_each)
        outcome.changed = True
        author = members[given.person]
        if state.share and not run.in_group:
            self._relay(outcome, author, text, members)
        if state.collect:
            return self._collect(flow, state, outcome, members, given, text)
        if state.from_ == "both":
            answered = run.marks.answered
            if str(given.person) in answered:
                return self._notice(outcome, "already_answered")
            answered[str(given.person)] = text
            if len(answered) < len(run.roles):
                others = [members[p].name for p in run.roles.values() if p != given.person]
                outcome.messages.append(
                    self._common(
                        run,
                        "waiting_for",
                        given.person,
                        private=state.in_private,
                        name=", ".join(others),
                    )
                )
                return outcome
            if state.save:
                run.context[state.save] = [
                    {"name": members[int(p)].name, "text": t, "by": int(p)}
                    for p, t in answered.items()
                ]
        elif state.save:
            run.context[state.save] = text
            # Who wrote what: their export shows it, their /forget removes it.
            run.marks.by[state.save] = given.person
        if state.next is None:
            raise FlowBug(f"{flow.id}.{run.state}: text leads nowhere")
        self._advance(flow, outcome, state.next, members)
        return outcome

    def _collect(
        self,
        flow: Flow,
        state: State,
        outcome: Outcome,
        members: dict[int, Member],
        given: Input,
        text: str,
    ) -> Outcome:
        """One more written item in a collected list (a button moves on, not the text)."""
        run = outcome.run
        author = members[given.person]
        if state.save:
            run.context.setdefault(state.save, []).append(
                {"name": author.name, "text": text, "by": author.id}
            )
        if state.ack:
            outcome.messages.append(
                self._said(
                    flow,
                    run,
                    members,
                    f"{flow.id}/{state.ack}",
                    state,
                    None if run.in_group else given.person,
                    prompt=True,
                    # In a group the step's buttons are just above; the note keeps the
                    # reply box open for the next one instead of a second keyboard.
                    keyboard=not run.in_group,
                )
            )
        return outcome

    def _take_break(
        self, flow: Flow, outcome: Outcome, members: dict[int, Member], given: Input
    ) -> Outcome:
        assert flow.break_ is not None
        run = outcome.run
        run.break_until = given.at + timedelta(minutes=flow.break_.minutes)
        outcome.changed = True
        outcome.break_minutes = flow.break_.minutes
        text = self.renderer.render(
            "common/on_break",
            minutes=flow.break_.minutes,
            title=self.renderer.labels.title(flow),
            by=members[given.person].name,
        )
        back = self.renderer.label("common/back_button")
        for person in self._audience(flow, run, "group"):
            outcome.messages.append(
                Said(text=text, person=person, choices=((RESUME, back),), step=run.step)
            )
        return outcome
