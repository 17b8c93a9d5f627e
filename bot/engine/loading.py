"""Reading flow files into the flows the bot runs: YAML as authors expect it, the schema,
and the structural checks (bot/engine/check_structure.py). `load_flows` is what the bot runs
at start-up: it refuses to start on any problem, and never renders a template (seconds);
`us-coach flows check` (bot/engine/check.py) adds rendering and every language.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.engine.check_structure import role_problems, structure_problems, template_problems
from bot.engine.names import Names
from bot.engine.samples import Problem
from bot.engine.schema import Flow
from bot.words.texts import Renderer
from bot.yaml_files import SafeLoader, load_yaml_text


class FlowLoader(SafeLoader):
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
    return load_yaml_text(text, FlowLoader)


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


def read_flows(
    flows_dir: Path, prompts_dir: Path, names: Names | None = None, *, render: bool = False
) -> tuple[dict[str, Flow], dict[str, Flow], dict[str, set[str]], list[Problem]]:
    """Every `*.yaml` in `flows_dir`: (all flows, the structurally sound ones, what each flow
    is carried into it by a hand-off, problems). Templates are looked for, and with `render`
    rendered in English."""
    renderer = Renderer(prompts_dir)
    flows, problems = _parse_all(flows_dir)
    problems += _command_problems(flows)
    if names is not None and names.roles:  # checked against the bot's own code
        problems += role_problems(flows, names)
    carried = _carried(flows)
    good: dict[str, Flow] = {}
    for flow, file in flows.values():
        found = structure_problems(flow, file, set(flows), names)
        problems += found
        if not found:
            problems += template_problems(flow, file, renderer, carried[flow.id], render)
            good[flow.id] = flow
    return {fid: flow for fid, (flow, _f) in flows.items()}, good, carried, problems


def _parse_all(flows_dir: Path) -> tuple[dict[str, tuple[Flow, str]], list[Problem]]:
    """Each file's flow by its id, with its file name; a flow whose id is taken is left out."""
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
    return flows, problems


def _command_problems(flows: dict[str, tuple[Flow, str]]) -> list[Problem]:
    """Two flows that answer the same command."""
    problems: list[Problem] = []
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
    return problems


def _carried(flows: dict[str, tuple[Flow, str]]) -> dict[str, set[str]]:
    """The context keys other flows carry into each flow when they start it or hand off."""
    carried: dict[str, set[str]] = {fid: set() for fid in flows}
    for flow, _file in flows.values():
        for state in flow.states.values():
            for action in state.do:
                spec = action.start_flow or action.hand_off
                if spec is not None and spec.flow in carried:
                    carried[spec.flow] |= set(spec.carry)
    return carried


_CHECKED: dict[tuple[object, ...], tuple[dict[str, Flow], list[Problem]]] = {}


def _files_state(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file's path, size and modification time: a changed file is a new check.
    (os.walk with one stat a file: pathlib's rglob and two stats took 35 ms of each start.)"""
    state = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                status = os.stat(path)
                state.append((path, status.st_size, status.st_mtime_ns))
    return tuple(state)


def load_flows(flows_dir: Path, prompts_dir: Path, names: Names | None = None) -> dict[str, Flow]:
    """The flows the bot runs with; raises FlowError naming every problem. A start checks the
    schema, the states' references, the roles and that every template exists; rendering every
    template in every language (seconds) is `us-coach flows check`'s work, run by the tests
    and CI on every change, never while a process starts under load."""
    key = (flows_dir, prompts_dir, repr(names), _files_state(flows_dir, prompts_dir))
    if key not in _CHECKED:
        _CHECKED.clear()
        flows, _good, _carried, problems = read_flows(flows_dir, prompts_dir, names)
        _CHECKED[key] = (flows, problems)
    flows, problems = _CHECKED[key]
    errors = [p for p in problems if not p.warning]
    if errors:
        raise FlowError(errors)
    return flows
