"""What the flow checker and the language checker share: a problem found, and the sample
couple and context a template is rendered with (kept apart so that neither checker imports
the other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.run import pressed
from bot.engine.runner import FlowRunner, Member, Run
from bot.engine.schema import Flow

SAMPLE = {"starter": Member(10**9 + 1, "Alexandria"), "partner": Member(10**9 + 2, "Samuel")}


@dataclass(frozen=True)
class Problem:
    file: str
    state: str | None
    kind: str
    message: str
    warning: bool = False  # worth a look, not wrong (a translation made from older English)

    def __str__(self) -> str:
        where = f" state {self.state}:" if self.state else ""
        level = "warning: " if self.warning else ""
        return f"{self.file}:{where} {level}{self.message} [{self.kind}]"


def sample_context(flow: Flow, carried: set[str]) -> dict[str, Any]:
    """What a run's context could hold: every saved answer, counter and carried value."""
    ctx: dict[str, Any] = {key: "sample" for key in carried}
    ctx.update(flow.defaults)
    both = [
        {"name": SAMPLE["starter"].name, "text": "a sample answer", "by": SAMPLE["starter"].id},
        {
            "name": SAMPLE["partner"].name,
            "text": "another sample answer",
            "by": SAMPLE["partner"].id,
        },
    ]
    for sid, state in flow.states.items():
        for action in state.do:
            if action.increment:
                ctx.setdefault(action.increment, 1)
            if action.set:
                for key, value in action.set.items():
                    ctx.setdefault(key, value)
            for key in action.calc or {}:
                ctx.setdefault(key, True)  # a computed flag or value: any will render
        if not state.save:
            continue
        if state.collect or (state.from_ == "both" and state.takes_text):
            ctx[state.save] = both
        elif state.takes_text:
            ctx[state.save] = "a sample answer"
        elif state.pick:
            picked = [k for k, c in state.choices.items() if c.next is None][: state.pick]
            ctx[state.save] = picked
            ctx[f"{state.save}_labels"] = [
                pressed(flow.id, sid, k, state.choices[k].label) for k in picked
            ]
        elif state.choices:
            key, choice = next(iter(state.choices.items()))
            ctx[state.save] = choice.value if choice.value is not None else key
            ctx[f"{state.save}_label"] = pressed(flow.id, sid, key, choice.label)
    return ctx


def sample_variables(
    runner: FlowRunner, flow: Flow, state: str, ctx: dict[str, Any], in_group: bool
) -> dict[str, Any]:
    """What a state's template sees, with the sample couple (and, for a `hold` template,
    who interrupts and whose turn it is)."""
    members = {m.id: m for m in SAMPLE.values()}
    roles = {r: SAMPLE[w].id for r, w in flow.roles.items()}
    run = Run(flow.id, state, 1, roles, dict(ctx), in_group=in_group)
    variables = runner._variables(flow, run, members)
    variables["you"] = SAMPLE["starter"].name
    variables |= {"holder": SAMPLE["partner"].name, "turn": SAMPLE["starter"].name}
    return variables
