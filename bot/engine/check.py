"""`us-coach flows check`: everything an author or a translator can get wrong, listed.

The flows are read as the bot reads them (bot/engine/loading.py); this adds rendering every
template, the `common/` templates the code uses, and every language (check_languages.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.engine.check_languages import language_problems
from bot.engine.loading import FlowError, Names, load_flows, load_yaml, read_flows
from bot.engine.samples import Problem, sample_context
from bot.engine.schema import Flow
from bot.words.texts import Renderer

__all__ = ["FlowError", "Names", "check_flows", "load_flows", "load_yaml", "mermaid"]


def check_flows(
    flows_dir: Path,
    prompts_dir: Path,
    names: Names | None = None,
    *,
    languages: bool = True,
    render: bool = True,
) -> tuple[dict[str, Flow], list[Problem]]:
    """Load every `*.yaml` in `flows_dir` and return the flows with all problems found (with
    `languages`, every translation's too: bot/engine/check_languages.py)."""
    flows, good, carried, problems = read_flows(flows_dir, prompts_dir, names, render=render)
    renderer = Renderer(prompts_dir)
    if names is not None and names.roles and render:
        problems += common_problems(renderer)
    if languages and render:
        samples = {fid: sample_context(flow, carried[fid]) for fid, flow in good.items()}
        problems += language_problems(renderer, good, samples)
    return flows, problems


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
