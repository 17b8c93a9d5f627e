"""How a run moves: into a state (its actions, its prompt, and on while nothing is awaited)
and along transitions. Built on Speaking; the inputs and the runner build on this."""

from __future__ import annotations

import re
from typing import Any

from bot.engine.run import (
    CONDITIONS,
    MAX_AUTO_STEPS,
    REACHED_PARTNER,
    FlowBug,
    Member,
    Outcome,
    Run,
    StartRequest,
    button_of,
    evaluate,
)
from bot.engine.schema import Flow, Transition
from bot.engine.speaking import Speaking


class Moving(Speaking):
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
        """Carried values keep who wrote them, so privacy rules follow them. A suggested
        answer takes its button along (`<key>_label`), to be said in each reader's words."""
        by = run.marks.by
        keys = [*keys, *(f"{k}_label" for k in keys if button_of(run.context.get(f"{k}_label")))]
        values = {k: run.context.get(k) for k in dict.fromkeys(keys)}
        return values, {k: by[k] for k in values if k in by}
