"""The flow runner: one generic walker for every flow. It never imports `telegram`.

Give it a run (where a couple is in a flow) and an input (who typed or pressed what,
when); it returns the run's next version and the messages to send, addressed to a
person or to the couple's group. Storing the run and sending the messages is the
caller's job, which keeps this module pure and easy to test.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from bot.engine.marks import Marks
from bot.engine.schema import Flow, State, Transition
from bot.words.labels import fill
from bot.words.languages import names_list
from bot.words.parsing import ParseError, parse_weekly_slot
from bot.words.texts import Renderer, mention

BREAK = "_break"
RESUME = "_resume"
MAX_AUTO_STEPS = 50  # a guard against flows that loop through silent states forever
CONDITIONS = SandboxedEnvironment()


def _is_weekly_slot(text: object) -> bool:
    try:
        parse_weekly_slot(str(text))
    except ParseError:
        return False
    return True


# Conditions may check a typed "sat 15:00" before a flow relies on it.
CONDITIONS.filters["is_weekly_slot"] = _is_weekly_slot


class FlowBug(Exception):
    """The flow file is wrong in a way the checker could not see (e.g. an endless loop)."""


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    lang: str = "en"  # what they hear in private: a word they choose is saved in it


@dataclass
class Run:
    """The engine's view of a stored FlowRun (plain data; JSON-safe context)."""

    flow_id: str
    state: str
    step: int
    roles: dict[str, int]
    context: dict[str, Any]
    in_group: bool
    status: str = "active"
    break_until: datetime | None = None
    marks: Marks = field(default_factory=Marks)  # the engine's bookkeeping, beside the answers


@dataclass(frozen=True)
class Said:
    """One message: to a person's private chat (`person`) or to the group (`person` None)."""

    text: str
    person: int | None
    choices: tuple[tuple[str, str], ...] = ()  # (key, label); the caller builds button data
    step: int = 0
    force_reply_to: int | None = None  # in a group: whose reply the message asks for
    force_reply_all: bool = False


@dataclass(frozen=True)
class StartRequest:
    flow: str
    starter: int
    carry: dict[str, Any]
    authors: dict[str, int] = field(default_factory=dict)  # who wrote each carried answer


@dataclass
class Outcome:
    """What an input did. `changed` runs must be stored before the messages are sent."""

    run: Run
    messages: list[Said] = field(default_factory=list)
    changed: bool = False
    notice: str | None = None  # short answer to a button press (template name in common/)
    notice_args: dict[str, Any] = field(default_factory=dict)
    agreements: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    effects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    start_flows: list[StartRequest] = field(default_factory=list)
    hand_off: StartRequest | None = None
    break_minutes: int | None = None

    @property
    def ended(self) -> bool:
        return self.run.status != "active"


@dataclass(frozen=True)
class Input:
    person: int
    at: datetime
    text: str | None = None
    choice: str | None = None
    step: int | None = None  # the step the pressed button was made for
    private: bool = False  # typed or pressed in a private chat


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    return bool(CONDITIONS.compile_expression(expression)(**context))


REACHED_PARTNER = "_reached_partner"


def _shuffled(person: int | None, week: object, key: str) -> str:
    """A choice's place in a shuffled state: the same for one person all week, another the
    next week (a hash, so a restart or another process gives the same order)."""
    return hashlib.sha256(f"{person}:{week}:{key}".encode()).hexdigest()


class FlowRunner:
    def __init__(self, flows: dict[str, Flow], renderer: Renderer) -> None:
        self.flows = flows
        self.renderer = renderer

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
        outcome = Outcome(run=copy.deepcopy(run), changed=False)
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
        run = copy.deepcopy(run)
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

    def resume(self, run: Run, members: dict[int, Member]) -> Outcome:
        """End a break: say so and ask the current step's question again."""
        flow = self.flows[run.flow_id]
        run = copy.deepcopy(run)
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
            text = self.renderer.render(f"{flow.id}/{template}", **variables)
            if text.strip():
                said.append(Said(text=text, person=person, step=run.step))
        return said

    def prompt_again(self, run: Run, members: dict[int, Member]) -> list[Said]:
        """The current step's message(s) again, e.g. for a reminder."""
        outcome = Outcome(run=copy.deepcopy(run))
        self._prompt(self.flows[run.flow_id], outcome, members)
        return outcome.messages

    def waiting_for(self, run: Run) -> set[int]:
        """Who the run waits on now (both partners when either may answer)."""
        flow = self.flows[run.flow_id]
        state = flow.states[run.state]
        if run.status != "active" or not state.waits:
            return set()
        allowed = self._allowed(flow, state, run)
        answered = {int(k) for k in run.marks.answered}
        return allowed - answered

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

    # ----- inputs --------------------------------------------------------------------------

    def _allowed(self, flow: Flow, state: State, run: Run) -> set[int]:
        who = state.from_
        if who is None:
            who = state.to if state.to in flow.roles else "any"
        if who in ("any", "both"):
            return set(run.roles.values())
        return {run.roles[who]}

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
            run.context[state.save] = choice.value if choice.value is not None else given.choice
            # Which button it was, so its words can be said in each reader's language later
            # (in this flow or one it is carried to).
            run.context[f"_{state.save}_ref"] = f"{flow.id}:{run.state}.{given.choice}"
            if isinstance(choice.value, str):  # a suggested answer: words, in the chooser's
                lang = members[given.person].lang if given.person in members else "en"
                said = self.renderer.labels.value(flow, run.state, given.choice or "")
                run.context[state.save] = said.in_(lang)
            names = {role: members[p].name for role, p in run.roles.items() if p in members}
            run.context[f"{state.save}_label"] = fill(choice.label, names)
            run.marks.by[state.save] = run.marks.by[f"{state.save}_label"] = given.person
        target = choice.next or state.next
        if target is None:
            raise FlowBug(f"{flow.id}.{run.state}: choice {given.choice} leads nowhere")
        outcome.changed = True
        self._advance(flow, outcome, target, members)
        return outcome

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
        run.context.setdefault(f"_{save}_refs", []).append(f"{flow.id}:{run.state}.{given.choice}")
        run.marks.by[save] = given.person
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

    # ----- moving between states -----------------------------------------------------------

    def _advance(
        self,
        flow: Flow,
        outcome: Outcome,
        target: str | list[Transition],
        members: dict[int, Member],
        depth: int = 0,
    ) -> None:
        self._enter(flow, outcome, self._resolve(flow, outcome.run, target), members, depth)

    def _resolve(self, flow: Flow, run: Run, target: str | list[Transition]) -> str:
        if isinstance(target, str):
            return target
        for transition in target:
            if transition.if_ is None or evaluate(transition.if_, self._variables(flow, run, {})):
                return transition.to
        raise FlowBug(f"{flow.id}.{run.state}: no transition matched")

    def _enter(
        self, flow: Flow, outcome: Outcome, name: str, members: dict[int, Member], depth: int = 0
    ) -> None:
        if depth > MAX_AUTO_STEPS:
            raise FlowBug(f"{flow.id}: more than {MAX_AUTO_STEPS} steps without waiting")
        run = outcome.run
        state = flow.states[name]
        run.state = name
        run.step += 1
        run.marks.next_step()
        for action in state.do:
            self._act(flow, outcome, action, members)
        said = len(outcome.messages)
        self._prompt(flow, outcome, members)
        starter = next((p for r, p in run.roles.items() if flow.roles[r] == "starter"), None)
        if any(s.person != starter for s in outcome.messages[said:]):
            run.context[REACHED_PARTNER] = True  # a shared win, not one kept private
        if state.end or outcome.hand_off is not None:
            run.status = "done"
            return
        if not state.waits:
            if state.next is None:
                raise FlowBug(f"{flow.id}.{name}: a state that waits for nothing needs `next`")
            self._advance(flow, outcome, state.next, members, depth + 1)

    def _act(self, flow: Flow, outcome: Outcome, action: Any, members: dict[int, Member]) -> None:
        run = outcome.run
        ctx = run.context
        if action.swap_roles:
            first, second = action.swap_roles
            run.roles[first], run.roles[second] = run.roles[second], run.roles[first]
        elif action.increment:
            ctx[action.increment] = int(ctx.get(action.increment) or 0) + 1
        elif action.set is not None:
            ctx.update(action.set)
        elif action.clear is not None:
            for key in action.clear:
                ctx.pop(key, None)
        elif action.store_agreement is not None:
            spec = action.store_agreement
            days = ctx.get(spec.follow_up_days) if spec.follow_up_days else None
            digits = re.sub(r"\D", "", str(days)) if days is not None else ""
            author = run.marks.by.get(spec.text)
            outcome.agreements.append(
                (str(ctx.get(spec.text, "")), int(digits) if digits else None, author)
            )
        elif action.calc is not None:
            for key, expression in action.calc.items():
                value = CONDITIONS.compile_expression(expression)(
                    **self._variables(flow, run, members)
                )
                ctx[key] = value if isinstance(value, int | float | str | bool) else str(value)
        elif action.effect is not None:
            spec = action.effect
            # A suggested answer goes to the effect as words that say themselves in each
            # reader's language ("a picnic in the park" / "ein Picknick im Park").
            names = {role: members[p].name for role, p in run.roles.items() if p in members}
            chosen = self._chosen_labels(flow, run, names)
            params = {name: chosen.get(key, ctx.get(key)) for name, key in spec.with_.items()}
            # The starter is who the flow is for (e.g. whose check-in this is).
            params["_starter"] = next(
                (p for r, p in run.roles.items() if flow.roles[r] == "starter"), None
            )
            outcome.effects.append((spec.name, params))
        elif action.start_flow is not None:
            spec = action.start_flow
            # What reached the partner may be counted for the couple (the weekly recap);
            # a run that stayed with one person never is.
            ctx[REACHED_PARTNER] = True
            outcome.start_flows.append(
                StartRequest(spec.flow, run.roles[spec.for_], *self._carry(run, spec.carry))
            )
        elif action.hand_off is not None:
            spec = action.hand_off
            starter = next(p for r, p in run.roles.items() if flow.roles[r] == "starter")
            outcome.hand_off = StartRequest(spec.flow, starter, *self._carry(run, spec.carry))

    @staticmethod
    def _carry(run: Run, keys: list[str]) -> tuple[dict[str, Any], dict[str, int]]:
        """Carried values keep who wrote them, so privacy rules follow them."""
        by = run.marks.by
        refs = [f"_{k.removesuffix('_label')}_ref" for k in keys]  # a button's words travel too
        values = {k: run.context.get(k) for k in keys}
        values |= {r: run.context[r] for r in refs if r in run.context}
        return values, {k: by[k] for k in keys if k in by}

    # ----- words ---------------------------------------------------------------------------

    def suggested(self, english: str) -> tuple[str | None, Any]:
        """A stored answer that is a flow's suggested words (saved in English): its button
        ref and its words in every language; anything typed comes back as it is."""
        for flow in self.flows.values():
            for sid, state in flow.states.items():
                for key, choice in state.choices.items():
                    if isinstance(choice.value, str) and choice.value == english:
                        return f"{flow.id}:{sid}.{key}", self.renderer.labels.value(flow, sid, key)
        return None, english

    def _variables(self, flow: Flow, run: Run, members: dict[int, Member]) -> dict[str, Any]:
        names = {role: members[p].name for role, p in run.roles.items() if p in members}
        return {
            "ctx": run.context,
            "name": names,
            "title": self.renderer.labels.title(flow),
            "in_group": run.in_group,
            "break_minutes": flow.break_.minutes if flow.break_ else None,
            **{k: v for k, v in run.context.items() if not k.startswith("_")},
            **self._chosen_labels(flow, run, names),
        }

    def _chosen_labels(self, flow: Flow, run: Run, names: dict[str, str]) -> dict[str, Any]:
        """`<save>_label`, the label of the button that was pressed, in each reader's
        language (and `<save>` itself when the button suggested words as the answer)."""
        found: dict[str, Any] = {}
        labels = self.renderer.labels
        for key, refs in run.context.items():
            if key.startswith("_") and key.endswith("_refs") and isinstance(refs, list):
                said = [self._label_of(flow, ref, names) for ref in refs]
                found[f"{key[1 : -len('_refs')]}_labels"] = [w for w in said if w is not None]
        for key, ref in run.context.items():
            if not (key.startswith("_") and key.endswith("_ref") and isinstance(ref, str)):
                continue
            flow_id, _colon, place = ref.partition(":")
            sid, _dot, pressed = place.partition(".")
            source = self.flows.get(flow_id, flow if flow.id == flow_id else None)
            if source is None or sid not in source.states:
                continue
            choice = source.states[sid].choices.get(pressed)
            if choice is None:
                continue
            save = key[1 : -len("_ref")]
            if f"{save}_label" in run.context:
                found[f"{save}_label"] = labels.choice(source, sid, pressed, names)
            if isinstance(choice.value, str) and save in run.context:
                found[save] = labels.value(source, sid, pressed)
        return found

    def _label_of(self, flow: Flow, ref: str, names: dict[str, str]) -> Any:
        """The label of the button `ref` ("flow:state.key") names, in each reader's language."""
        flow_id, _colon, place = ref.partition(":")
        sid, _dot, pressed = place.partition(".")
        source = self.flows.get(flow_id, flow if flow.id == flow_id else None)
        if source is None or pressed not in source.states.get(sid, State(to="group")).choices:
            return None
        return self.renderer.labels.choice(source, sid, pressed, names)

    def _audience(
        self, flow: Flow, run: Run, to: str, in_private: bool = False
    ) -> list[int | None]:
        """Who gets a message addressed `to`: the group, or private chats."""
        if run.in_group and not in_private:
            return [None]
        if to in flow.roles:
            return [run.roles[to]]
        return list(dict.fromkeys(run.roles.values()))

    def _prompt(self, flow: Flow, outcome: Outcome, members: dict[int, Member]) -> None:
        run = outcome.run
        state = flow.states[run.state]
        template = flow.template_of(run.state)
        if template is None:
            return
        answered = {int(k) for k in run.marks.answered}
        for person in self._audience(flow, run, state.to, state.in_private):
            if person is not None and person in answered:
                continue
            outcome.messages.append(
                self._said(flow, run, members, template, state, person, prompt=True)
            )

    def _said(
        self,
        flow: Flow,
        run: Run,
        members: dict[int, Member],
        template: str,
        state: State,
        person: int | None,
        *,
        prompt: bool = False,
        keyboard: bool = True,
    ) -> Said:
        variables = self._variables(flow, run, members)
        if person is not None and person in members:
            variables["you"] = members[person].name
        choices: tuple[tuple[str, str], ...] = ()
        force_to, force_all = None, False
        if prompt and run.status == "active":
            names = {role: members[p].name for role, p in run.roles.items() if p in members}
            labels = self.renderer.labels
            keys = list(state.choices)
            if state.shuffle:
                keys.sort(key=lambda k: _shuffled(person, run.context.get("week", 0), k))
            choices = tuple(
                (key, labels.choice(flow, run.state, key, names)) for key in keys if keyboard
            )
            breaks = flow.break_ is not None and state.breakable and not state.end
            if keyboard and breaks and state.waits:
                choices += ((BREAK, labels.break_label(flow)),)
            if run.in_group and state.takes_text and not state.in_private:
                allowed = self._allowed(flow, state, run)
                if len(allowed) == 1:
                    force_to = next(iter(allowed))
                    # Mention whose reply we want: it pings them, and aims a selective reply box.
                    variables["name"] = {
                        role: mention(pid, members[pid].name) if pid == force_to else label
                        for (role, pid), label in zip(
                            run.roles.items(), variables["name"].values(), strict=True
                        )
                    }
                else:
                    force_all = True
        text = self.renderer.render(template, **variables)
        return Said(
            text=text,
            person=person,
            choices=choices,
            step=run.step,
            force_reply_to=force_to,
            force_reply_all=force_all,
        )

    def _common(
        self, run: Run, template: str, person: int | None, private: bool = False, **args: Any
    ) -> Said:
        return Said(
            text=self.renderer.render(f"common/{template}", **args),
            person=None if run.in_group and not private else person,
            step=run.step,
        )

    def _relay(
        self, outcome: Outcome, author: Member, text: str, members: dict[int, Member]
    ) -> None:
        for person in outcome.run.roles.values():
            if person != author.id:
                outcome.messages.append(
                    Said(
                        text=self.renderer.render("common/shared_text", who=author.name, text=text),
                        person=person,
                        step=outcome.run.step,
                    )
                )

    def _notice(self, outcome: Outcome, template: str, **args: Any) -> Outcome:
        outcome.notice = template
        outcome.notice_args = args
        return outcome

    def _not_your_turn(
        self,
        flow: Flow,
        state: State,
        outcome: Outcome,
        members: dict[int, Member],
        typed_by: int | None,
    ) -> Outcome:
        """Someone spoke out of turn: a typed message gets the flow's gentle `hold` note."""
        run = outcome.run
        waiting = [members[p].name for p in self._allowed(flow, state, run) if p in members]
        if typed_by is not None and state.hold is not None:
            variables = self._variables(flow, run, members)
            # Whoever interrupts, and whoever's turn it is: in a listener's step the speaker
            # is the one told to hold on.
            variables["holder"] = members[typed_by].name if typed_by in members else ""
            variables["turn"] = names_list(waiting)
            text = self.renderer.render(f"{flow.id}/{state.hold}", **variables)
            person = None if run.in_group else typed_by
            outcome.messages.append(Said(text=text, person=person, step=run.step))
        return self._notice(outcome, "not_your_turn", name=", ".join(waiting))
