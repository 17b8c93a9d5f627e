"""How a run speaks: the variables its templates see, who each message goes to, and the
messages themselves (prompts, notices, relayed words). The base of the flow runner."""

from __future__ import annotations

from typing import Any

from bot.engine.run import (
    BREAK,
    Member,
    Outcome,
    Run,
    Said,
    button_of,
    pressed,
    shuffled,
)
from bot.engine.schema import Choice, Flow, State
from bot.words.text import Text, names_list
from bot.words.texts import Renderer, mention


class Speaking:
    def __init__(self, flows: dict[str, Flow], renderer: Renderer) -> None:
        self.flows = flows
        self.renderer = renderer

    def _allowed(self, flow: Flow, state: State, run: Run) -> set[int]:
        who = state.from_
        if who is None:
            who = state.to if state.to in flow.roles else "any"
        if who in ("any", "both"):
            return set(run.roles.values())
        return {run.roles[who]}

    def suggested(self, english: str) -> tuple[dict[str, str] | None, Any]:
        """A stored answer that is a flow's suggested words (saved in English): the button
        that suggests them (as a run keeps a pressed one) and its words in every language;
        anything typed comes back as it is."""
        for flow in self.flows.values():
            for sid, state in flow.states.items():
                for key, choice in state.choices.items():
                    if isinstance(choice.value, str) and choice.value == english:
                        button = pressed(flow.id, sid, key, choice.label)
                        return button, self.renderer.labels.value(flow, sid, key)
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
        """Each pressed button the run keeps (`<save>_label`, `<save>_labels`) as its label in
        each reader's language; and `<save>` itself when the button suggested words as the
        answer ("a picnic in the park" / "ein Picknick im Park")."""
        found: dict[str, Any] = {}
        for key, value in run.context.items():
            if isinstance(value, list) and value and all(button_of(v) for v in value):
                said = [self._label_of(flow, v, names) for v in value]
                found[key] = [w for w in said if w != ""]  # a gone button with no words
                continue
            ref = button_of(value)
            if ref is None:
                continue
            found[key] = self._label_of(flow, value, names)
            save = key.removesuffix("_label")
            place = self._pressed(flow, ref)
            if place is not None and save != key and save in run.context:
                source, sid, choice_key, choice = place
                if isinstance(choice.value, str):
                    found[save] = self.renderer.labels.value(source, sid, choice_key)
        return found

    def _pressed(self, flow: Flow, ref: str) -> tuple[Flow, str, str, Choice] | None:
        """The button a ref ("flow:state.key") names, if its flow still has it."""
        flow_id, _colon, place = ref.partition(":")
        sid, _dot, key = place.partition(".")
        source = self.flows.get(flow_id, flow if flow.id == flow_id else None)
        if source is None or sid not in source.states:
            return None
        choice = source.states[sid].choices.get(key)
        return None if choice is None else (source, sid, key, choice)

    def _label_of(self, flow: Flow, button: dict[str, str], names: dict[str, str]) -> Any:
        """A pressed button's label in each reader's language; its English when a newer
        version of the flow no longer has that button."""
        place = self._pressed(flow, button["button"])
        if place is None:
            return str(button["label"])
        source, sid, key, _choice = place
        return self.renderer.labels.choice(source, sid, key, names)

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
        choices: tuple[tuple[str, str | Text], ...] = ()
        force_to, force_all = None, False
        if prompt and run.status == "active":
            names = {role: members[p].name for role, p in run.roles.items() if p in members}
            labels = self.renderer.labels
            keys = list(state.choices)
            if state.shuffle:
                keys.sort(key=lambda k: shuffled(person, run.context.get("week", 0), k))
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
