"""What an author can get wrong inside a flow: references between states, roles, flows
and effects; reachability and dead ends; missing, unused and broken templates; the roles the
bot's code asks flows to fill."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError

from bot.engine.names import Names
from bot.engine.run import BREAK, CONDITIONS
from bot.engine.runner import FlowRunner
from bot.engine.samples import Problem, sample_context, sample_variables
from bot.engine.schema import Flow, State
from bot.words.languages import ENGLISH
from bot.words.texts import Renderer

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
# Button data is "f:<run id>:<step>:<choice>"; check it with ids as large as we'll ever see.
LONGEST_BUTTON_PREFIX = f"f:{'9' * 10}:{'9' * 6}:"


def _targets(state: State) -> list[str]:
    found: list[str] = []
    if isinstance(state.next, str):
        found.append(state.next)
    elif state.next:
        found.extend(t.to for t in state.next)
    for choice in state.choices.values():
        found.append(choice.next or (state.next if isinstance(state.next, str) else "") or "")
    if state.disagree:
        found.append(state.disagree)
    return [t for t in found if t]


# Reports one problem: (state or None for the whole flow, kind, message).
Add = Callable[[str | None, str, str], None]


def structure_problems(
    flow: Flow, file: str, flow_ids: set[str], names: Names | None = None
) -> list[Problem]:
    """References between states, roles, flows and named effects; reachability; dead ends."""
    problems: list[Problem] = []

    def add(state: str | None, kind: str, message: str) -> None:
        problems.append(Problem(file, state, kind, message))

    if names is not None:
        _name_problems(flow, names, add)
    roles = set(flow.roles)
    if flow.start not in flow.states:
        add(None, "unknown-state", f"start: no state named {flow.start!r}")
    for name, state in flow.states.items():
        _state_problems(flow, name, state, roles, add)
        _choice_problems(name, state, add)
        _transition_problems(name, state, add)
        _action_problems(name, state, roles, flow_ids, add)
    if problems:
        return problems
    # Paths are only worth following once every reference leads somewhere.
    _path_problems(flow, add)
    return problems


def _name_problems(flow: Flow, names: Names, add: Add) -> None:
    """Seeds and effects the flow names that the bot's code does not have."""
    for seed in flow.seed:
        if seed not in names.seeds:
            add(
                None,
                "unknown-seed",
                f"seed {seed!r} does not exist (have: {', '.join(sorted(names.seeds))})",
            )
    for name, state in flow.states.items():
        for action in state.do:
            if action.effect is not None and action.effect.name not in names.effects:
                add(
                    name,
                    "unknown-effect",
                    f"effect {action.effect.name!r} does not "
                    f"exist (have: {', '.join(sorted(names.effects))})",
                )


def _state_problems(flow: Flow, name: str, state: State, roles: set[str], add: Add) -> None:
    """A state's own shape: where it goes, who it speaks to, and how it moves on."""
    for target in _targets(state):
        if target not in flow.states:
            add(name, "unknown-state", f"goes to {target!r}, which is not a state")
    if state.to not in roles | {"both", "group"}:
        add(name, "unknown-role", f"to: {state.to!r} is not a role, `both` or `group`")
    if state.from_ is not None and state.from_ not in roles | {"any", "both"}:
        add(name, "unknown-role", f"from: {state.from_!r} is not a role, `any` or `both`")
    if state.disagree and (state.from_ != "both" or not state.choices):
        add(name, "disagree", "`disagree` is for a step whose choice both must make")
    if state.end and (state.takes_text or state.wait or state.next or state.from_):
        add(name, "end-state", "an end state takes no text, waits for nothing, goes nowhere")
    if state.end:
        # Buttons on a last message: the run has ended (it holds nobody), the addressed
        # person may answer once, and the answer ends it again.
        for key, choice in state.choices.items():
            after = flow.states.get(choice.next or "")
            if after is not None and not after.end:
                add(name, "end-state", f"choice {key!r} after the end must lead to an end state")
    if not state.end and not state.waits and state.next is None:
        add(name, "dead-end", "waits for nothing, goes nowhere and is not an end state")
    if state.takes_text and state.next is None and not state.collect:
        add(name, "dead-end", "takes text but has no `next`")
    if state.collect and not state.choices:
        add(name, "dead-end", "collects text but has no button to move on")
    if state.pick and (not state.save or state.next is None or state.takes_text):
        add(name, "pick", "`pick` needs `save` and `next`, and takes no text")
    if state.pick and not any(c.next for c in state.choices.values()):
        add(name, "pick", "`pick` needs a choice with `next` to move on before the last pick")
    if state.in_private and (not state.takes_text or state.collect):
        add(name, "in-private", "`in_private` is for a text answer (not collected)")


def _choice_problems(name: str, state: State, add: Add) -> None:
    """Each button leads somewhere, and its data fits in Telegram's 64 bytes."""
    for key, choice in state.choices.items():
        if choice.next is None and state.next is None:
            add(name, "dead-end", f"choice {key!r} has no `next` and neither has the state")
        data = f"{LONGEST_BUTTON_PREFIX}{key}".encode()
        if len(data) > MAX_CALLBACK_BYTES:
            add(
                name,
                "button-data",
                f"choice {key!r} makes {len(data)}-byte button data "
                f"(Telegram allows {MAX_CALLBACK_BYTES})",
            )


def _transition_problems(name: str, state: State, add: Add) -> None:
    """Conditional `next`: every `if` compiles, and the last one is the otherwise case."""
    if not isinstance(state.next, list):
        return
    for transition in state.next:
        if transition.if_ is not None:
            try:
                CONDITIONS.compile_expression(transition.if_)
            except TemplateSyntaxError as exc:
                add(name, "condition", f"if: {transition.if_!r} is not valid: {exc}")
    if state.next and state.next[-1].if_ is not None:
        add(name, "condition", "the last transition needs no `if` (the otherwise case)")


def _action_problems(
    name: str, state: State, roles: set[str], flow_ids: set[str], add: Add
) -> None:
    """What a state does names roles and flows that exist."""
    for action in state.do:
        if action.swap_roles and not set(action.swap_roles) <= roles:
            add(name, "unknown-role", f"swap_roles: {list(action.swap_roles)} are not roles")
        for spec in (action.start_flow, action.hand_off):
            if spec is not None and spec.flow not in flow_ids:
                add(name, "unknown-flow", f"starts flow {spec.flow!r}, which does not exist")
        if action.start_flow is not None and action.start_flow.for_ not in roles:
            add(name, "unknown-role", f"start_flow for {action.start_flow.for_!r}: no role")


def _path_problems(flow: Flow, add: Add) -> None:
    """States no path reaches from the start, and states from which no end can be reached."""
    reachable = _reach(flow.start, lambda s: _targets(flow.states[s]))
    for name in flow.states:
        if name not in reachable:
            add(name, "unreachable", "no path from the start state leads here")
    incoming: dict[str, list[str]] = {n: [] for n in flow.states}
    for name, state in flow.states.items():
        for target in _targets(state):
            incoming[target].append(name)
    ends = [n for n, s in flow.states.items() if s.end or (s.do and any(a.hand_off for a in s.do))]
    finishing: set[str] = set()
    for end in ends:
        finishing |= _reach(end, lambda s: incoming[s])
    for name in reachable - finishing:
        add(name, "dead-end", "no end state can be reached from here")
    if not ends:
        add(None, "dead-end", "the flow has no end state")


def _reach(start: str, edges: Any) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def template_problems(
    flow: Flow, file: str, renderer: Renderer, carried: set[str], render: bool = True
) -> list[Problem]:
    """Missing, unused and (with `render`) broken templates; texts over Telegram's limit."""
    problems: list[Problem] = []
    used: set[str] = set()
    runner = FlowRunner({flow.id: flow}, renderer)
    ctx = sample_context(flow, carried)
    for name, state in flow.states.items():
        names = [(flow.template_of(name), "template")]
        names += [
            (f"{flow.id}/{t}", key) for t, key in ((state.hold, "hold"), (state.ack, "ack")) if t
        ]
        for template, key in names:
            if template is None:
                continue
            used.add(template)
            if not renderer.has(template):
                problems.append(
                    Problem(
                        file,
                        name,
                        "missing-template",
                        f"{key}: prompts/{template}.j2 does not exist",
                    )
                )
                continue
            if not render:
                continue
            broken = _render_problem(renderer, runner, flow, ctx, file, name, template)
            if broken is not None:
                problems.append(broken)
    problems += _expiry_problems(flow, file, renderer, runner, ctx, render)
    used |= {f"{flow.id}/{expiry}" for expiry in flow.on_expiry.values()}
    problems += _unused_templates(flow, file, renderer, used)
    if flow.break_ is not None and len(f"{LONGEST_BUTTON_PREFIX}{BREAK}".encode()) > 64:
        problems.append(Problem(file, None, "button-data", "break button data too long"))
    return problems


def _render_problem(
    renderer: Renderer,
    runner: FlowRunner,
    flow: Flow,
    ctx: dict[str, Any],
    file: str,
    state: str,
    template: str,
) -> Problem | None:
    """A state's template rendered in private and in a group: the first way it fails."""
    for in_group in (False, True):
        try:
            variables = sample_variables(runner, flow, state, ctx, in_group)
            text = renderer.render_in(ENGLISH, template, **variables)
        except TemplateError as exc:
            return Problem(file, state, "render", f"prompts/{template}.j2 fails to render: {exc}")
        if not text.strip():
            return Problem(file, state, "render", f"prompts/{template}.j2 renders empty")
        if len(text) > MAX_TEXT:
            return Problem(
                file,
                state,
                "too-long",
                f"prompts/{template}.j2 renders {len(text)} characters "
                f"(Telegram allows {MAX_TEXT})",
            )
    return None


def _expiry_problems(
    flow: Flow,
    file: str,
    renderer: Renderer,
    runner: FlowRunner,
    ctx: dict[str, Any],
    render: bool,
) -> list[Problem]:
    """`on_expiry`: each role's template exists and (with `render`) renders."""
    problems: list[Problem] = []
    for role, template in flow.on_expiry.items():
        name = f"{flow.id}/{template}"
        if role not in flow.roles:
            problems.append(Problem(file, None, "unknown-role", f"on_expiry: no role {role!r}"))
        elif not renderer.has(name):
            problems.append(
                Problem(
                    file, None, "missing-template", f"on_expiry: prompts/{name}.j2 does not exist"
                )
            )
        elif render:
            try:
                variables = sample_variables(runner, flow, flow.start, ctx, False)
                renderer.render(name, **variables)
            except TemplateError as exc:
                problems.append(
                    Problem(file, None, "render", f"prompts/{name}.j2 fails to render: {exc}")
                )
    return problems


def _unused_templates(flow: Flow, file: str, renderer: Renderer, used: set[str]) -> list[Problem]:
    """Templates in the flow's prompts folder that no state (nor `on_expiry`) uses."""
    folder = renderer.prompts_dir / flow.id
    if not folder.is_dir():
        return []
    return [
        Problem(
            file,
            None,
            "unused-template",
            f"prompts/{flow.id}/{path.name} is used by no state",
        )
        for path in sorted(folder.glob("*.j2"))
        if f"{flow.id}/{path.stem}" not in used
    ]


def role_problems(flows: dict[str, tuple[Flow, str]], names: Names) -> list[Problem]:
    """Every role the code asks for has exactly one flow; no flow takes a built-in command."""
    ROLES, BUILT_IN = names.roles, names.commands
    problems: list[Problem] = []
    filled: dict[str, list[str]] = {role: [] for role in ROLES}
    for flow, file in flows.values():
        for role in flow.fills:
            if role not in ROLES:
                known = ", ".join(sorted(ROLES))
                problems.append(
                    Problem(file, None, "role", f"unknown role {role!r} (known: {known})")
                )
                continue
            filled[role].append(file)
            for name in names.timing.get(role, ()):
                if flow.timing is None or getattr(flow.timing, name) is None:
                    problems.append(
                        Problem(
                            file,
                            None,
                            "timing",
                            f"the role {role!r} needs `timing: {{{name}: ...}}`",
                        )
                    )
        if flow.command in BUILT_IN:
            problems.append(
                Problem(file, None, "command", f"/{flow.command} is one of the bot's own commands")
            )
    for role, files in filled.items():
        if not files:
            problems.append(
                Problem(
                    "flows/",
                    None,
                    "role",
                    f"no flow fills the role {role!r} ({ROLES[role]}): add `fills: [{role}]`",
                )
            )
        elif len(files) > 1:
            problems.append(
                Problem(files[1], None, "role", f"role {role!r} is also filled by {files[0]}")
            )
    return problems
