"""Loading flow files, and everything an author can get wrong in them.

`load_flows` is what the bot runs at start-up: it refuses to start on any problem.
`check_flows` is the same list for `us-coach flows check`, which prints them all.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateError, TemplateSyntaxError
from pydantic import ValidationError

from bot.engine.check_languages import language_problems
from bot.engine.run import BREAK, CONDITIONS
from bot.engine.runner import FlowRunner
from bot.engine.samples import Problem, sample_context, sample_variables
from bot.engine.schema import Flow, State
from bot.words.texts import Renderer

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
# Button data is "f:<run id>:<step>:<choice>"; check it with ids as large as we'll ever see.
LONGEST_BUTTON_PREFIX = f"f:{'9' * 10}:{'9' * 6}:"


class FlowLoader(yaml.SafeLoader):
    """YAML as authors expect it: only true/false are booleans, so `yes:` and `no:` can
    be choice keys (YAML 1.1 would silently read them as true and false)."""


FlowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
FlowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=FlowLoader)


@dataclass(frozen=True)
class Names:
    """What the bot provides (effects, seeds) and needs (roles, its own commands), for
    checking flows against it. Without it, flows are checked on their own."""

    effects: frozenset[str]
    seeds: frozenset[str]
    roles: dict[str, str] = field(default_factory=dict)  # role -> what the code uses it for
    commands: frozenset[str] = frozenset()  # built-in commands no flow may take
    timing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> fields it needs


class FlowError(Exception):
    """One or more flow files are invalid; `problems` names each file, state and problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def parse_file(path: Path) -> tuple[Flow | None, list[Problem]]:
    """Read one YAML file into a Flow, or say why not (with the state where it can)."""
    name = path.name
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return None, [Problem(name, None, "yaml", f"not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [Problem(name, None, "yaml", "a flow file is a mapping (id:, title:, ...)")]
    try:
        return Flow.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            state = loc[1] if len(loc) > 1 and loc[0] == "states" else None
            field = ".".join(loc[2:] if state else loc)
            problems.append(Problem(name, state, "schema", f"{field}: {error['msg']}"))
        return None, problems


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


def structure_problems(
    flow: Flow, file: str, flow_ids: set[str], names: Names | None = None
) -> list[Problem]:
    """References between states, roles, flows and named effects; reachability; dead ends."""
    problems: list[Problem] = []

    def add(state: str | None, kind: str, message: str) -> None:
        problems.append(Problem(file, state, kind, message))

    if names is not None:
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

    roles = set(flow.roles)
    if flow.start not in flow.states:
        add(None, "unknown-state", f"start: no state named {flow.start!r}")
    for name, state in flow.states.items():
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
                    add(
                        name, "end-state", f"choice {key!r} after the end must lead to an end state"
                    )
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
        if isinstance(state.next, list):
            for transition in state.next:
                if transition.if_ is not None:
                    try:
                        CONDITIONS.compile_expression(transition.if_)
                    except TemplateSyntaxError as exc:
                        add(name, "condition", f"if: {transition.if_!r} is not valid: {exc}")
            if state.next and state.next[-1].if_ is not None:
                add(name, "condition", "the last transition needs no `if` (the otherwise case)")
        for action in state.do:
            if action.swap_roles and not set(action.swap_roles) <= roles:
                add(name, "unknown-role", f"swap_roles: {list(action.swap_roles)} are not roles")
            for spec in (action.start_flow, action.hand_off):
                if spec is not None and spec.flow not in flow_ids:
                    add(name, "unknown-flow", f"starts flow {spec.flow!r}, which does not exist")
            if action.start_flow is not None and action.start_flow.for_ not in roles:
                add(name, "unknown-role", f"start_flow for {action.start_flow.for_!r}: no role")

    if problems:
        return problems
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
    return problems


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
            for in_group in (False, True) if render else ():
                try:
                    variables = sample_variables(runner, flow, name, ctx, in_group)
                    text = renderer.render(template, **variables)
                except TemplateError as exc:
                    problems.append(
                        Problem(
                            file, name, "render", f"prompts/{template}.j2 fails to render: {exc}"
                        )
                    )
                    break
                if not text.strip():
                    problems.append(
                        Problem(file, name, "render", f"prompts/{template}.j2 renders empty")
                    )
                    break
                if len(text) > MAX_TEXT:
                    problems.append(
                        Problem(
                            file,
                            name,
                            "too-long",
                            f"prompts/{template}.j2 renders {len(text)} characters "
                            f"(Telegram allows {MAX_TEXT})",
                        )
                    )
                    break
    for role, template in flow.on_expiry.items():
        name = f"{flow.id}/{template}"
        used.add(name)
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
    folder = renderer.prompts_dir / flow.id
    if folder.is_dir():
        for path in sorted(folder.glob("*.j2")):
            if f"{flow.id}/{path.stem}" not in used:
                problems.append(
                    Problem(
                        file,
                        None,
                        "unused-template",
                        f"prompts/{flow.id}/{path.name} is used by no state",
                    )
                )
    if flow.break_ is not None and len(f"{LONGEST_BUTTON_PREFIX}{BREAK}".encode()) > 64:
        problems.append(Problem(file, None, "button-data", "break button data too long"))
    return problems


def check_flows(
    flows_dir: Path,
    prompts_dir: Path,
    names: Names | None = None,
    *,
    languages: bool = True,
    render: bool = True,
) -> tuple[dict[str, Flow], list[Problem]]:
    """Load every `*.yaml` in `flows_dir` and return the flows with all problems found (with
    `languages`, every translation's too: bot/engine/check_languages.py). Without `render`,
    templates are only looked for, not rendered: the bot's start (see load_flows)."""
    renderer = Renderer(prompts_dir)
    flows: dict[str, tuple[Flow, str]] = {}
    problems: list[Problem] = []
    paths = sorted([*flows_dir.glob("*.yaml"), *flows_dir.glob("*.yml")])
    for path in paths:
        flow, found = parse_file(path)
        problems += found
        if flow is None:
            continue
        if flow.id in flows:
            problems.append(
                Problem(
                    path.name,
                    None,
                    "duplicate",
                    f"flow id {flow.id!r} is also used by {flows[flow.id][1]}",
                )
            )
            continue
        if path.stem != flow.id:
            problems.append(
                Problem(
                    path.name,
                    None,
                    "file-name",
                    f"the file of flow {flow.id!r} should be {flow.id}.yaml",
                )
            )
        flows[flow.id] = (flow, path.name)
    commands: dict[str, str] = {}
    for flow, file in flows.values():
        if flow.command:
            if flow.command in commands:
                problems.append(
                    Problem(
                        file,
                        None,
                        "duplicate",
                        f"command /{flow.command} is also {commands[flow.command]}",
                    )
                )
            commands[flow.command] = flow.id
    if names is not None and names.roles:  # checked against the bot's own code
        problems += role_problems(flows, names)
        if render:
            problems += common_problems(renderer)
    carried: dict[str, set[str]] = {fid: set() for fid in flows}
    for flow, _file in flows.values():
        for state in flow.states.values():
            for action in state.do:
                spec = action.start_flow or action.hand_off
                if spec is not None and spec.flow in carried:
                    carried[spec.flow] |= set(spec.carry)
    good: dict[str, Flow] = {}
    for flow, file in flows.values():
        found = structure_problems(flow, file, set(flows), names)
        problems += found
        if not found:
            problems += template_problems(flow, file, renderer, carried[flow.id], render)
            good[flow.id] = flow
    if languages and render:
        samples = {fid: sample_context(flow, carried[fid]) for fid, flow in good.items()}
        problems += language_problems(renderer, good, samples)
    return {fid: flow for fid, (flow, _f) in flows.items()}, problems


# How the bot's code names a `common/` template: render or label with "common/NAME", and
# the helpers that take a bare NAME first: reply(event, NAME), say(chat, NAME), _notice(NAME).
_USES = (
    re.compile(r'(?:render|label)\(\s*f?"common/([^"]+)"'),
    re.compile(r'\b(?:reply|say|_say|_notice)\((?:[^()"]*?,\s*)?f?"([a-z_{}.]+)"'),
)


def common_templates_used(source_dir: Path) -> set[str]:
    """Every `common/` template name the bot's Python uses; `{...}` parts are wildcards."""
    used: set[str] = set()
    for path in source_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _USES:
            used |= set(pattern.findall(text))
    return used


def common_problems(renderer: Renderer, source_dir: Path | None = None) -> list[Problem]:
    """A `common/` template the code uses is missing, or does not render (any variables)."""
    import fnmatch

    from jinja2 import ChainableUndefined, TemplateError

    source_dir = source_dir or Path(__file__).resolve().parent.parent
    folder = renderer.prompts_dir / "common"
    present = sorted(p.stem for p in folder.glob("*.j2")) if folder.is_dir() else []
    problems: list[Problem] = []
    for name in sorted(common_templates_used(source_dir)):
        wildcard = re.sub(r"\{[^}]*\}", "*", name)
        if wildcard == "*":
            continue  # wholly chosen at run time (a notice's name): checked where it is made
        if not fnmatch.filter(present, wildcard):
            problems.append(
                Problem(
                    "prompts/common",
                    None,
                    "missing-template",
                    f"the bot uses prompts/common/{name}.j2, which does not exist",
                )
            )
    # Render each with any variables at all, to catch syntax and filter errors.
    lenient = renderer.env.overlay(undefined=ChainableUndefined)
    for stem in present:
        try:
            lenient.get_template(f"common/{stem}.j2").render()
        except TemplateError as exc:
            problems.append(
                Problem("prompts/common", None, "render", f"common/{stem}.j2 fails: {exc}")
            )
    return problems


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


_CHECKED: dict[tuple[object, ...], tuple[dict[str, Flow], list[Problem]]] = {}


def _files_state(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file's path, size and modification time: a changed file is a new check."""
    return tuple(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def load_flows(flows_dir: Path, prompts_dir: Path, names: Names | None = None) -> dict[str, Flow]:
    """The flows the bot runs with; raises FlowError naming every problem. A start checks the
    schema, the states' references, the roles and that every template exists; rendering every
    template in every language (seconds) is `us-coach flows check`'s work, run by the tests
    and CI on every change, never while a process starts under load."""
    key = (flows_dir, prompts_dir, repr(names), _files_state(flows_dir, prompts_dir))
    if key not in _CHECKED:
        _CHECKED.clear()
        _CHECKED[key] = check_flows(flows_dir, prompts_dir, names, render=False)
    flows, problems = _CHECKED[key]
    errors = [p for p in problems if not p.warning]
    if errors:
        raise FlowError(errors)
    return flows


def mermaid(flow: Flow) -> str:
    """A Mermaid state diagram of the flow, generated from the YAML."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for name, state in flow.states.items():
        if isinstance(state.next, list):
            for transition in state.next:
                label = f"if {transition.if_}" if transition.if_ else "otherwise"
                lines.append(f"    {name} --> {transition.to}: {_label(label)}")
        for choice in state.choices.values():
            target = choice.next or (state.next if isinstance(state.next, str) else None)
            if target:
                lines.append(f"    {name} --> {target}: {_label(choice.label)}")
        if isinstance(state.next, str):
            label = "text" if state.takes_text else ""
            lines.append(f"    {name} --> {state.next}" + (f": {label}" if label else ""))
        if state.end:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    return text.replace(":", " ").replace('"', "'")
