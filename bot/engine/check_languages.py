"""`flows check` for every language beside English: what a translator can get wrong.

English (prompts/en/, the flow YAML, prompts/en/commands.yaml) is complete and the reference.
For each other folder in prompts/ this finds missing and extra templates and labels, variables
English does not pass, plurals without a category the language needs (CLDR, via Babel),
texts over Telegram's limits once rendered in the language, and translations made from an
older English (each records the hash of its English; a changed English marks it stale, as
gettext's fuzzy flag does: a warning, since the old words still work).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError
from jinja2 import ChainableUndefined, TemplateError, meta, nodes

from bot.engine.check_words import flat, word_problems
from bot.engine.runner import FlowRunner
from bot.engine.samples import Problem, sample_variables
from bot.engine.schema import Flow
from bot.words.labels import english_labels, source_hash
from bot.words.languages import ENGLISH, english_hash, plural_categories
from bot.words.texts import SOURCE, Renderer

MAX_TEXT = 4096
MAX_LABEL = 64  # characters of a button label (the schema's limit for English)
GLOBALS = {"mention", "lang", "g", "pg", "of"}


def languages_in(prompts_root: Path) -> list[str]:
    """The language folders beside English's (a folder Babel does not know is no language)."""
    found = []
    for path in sorted(prompts_root.iterdir()):
        if path.is_dir() and path.name != ENGLISH:
            try:
                Locale.parse(path.name)
            except (ValueError, UnknownLocaleError):
                continue
            found.append(path.name)
    return found


def strays(prompts_root: Path) -> list[Any]:
    """Folders in prompts/ that are neither English nor a language: templates in the wrong
    place (a flow's words go in prompts/en/<flow id>/)."""
    known = {ENGLISH, *languages_in(prompts_root)}
    return [
        _problem(
            f"prompts/{p.name}",
            "not-a-language",
            f"is not a language; a flow's words go in prompts/en/{p.name}/",
        )
        for p in sorted(prompts_root.iterdir())
        if p.is_dir() and p.name not in known
    ]


def _problem(file: str, kind: str, message: str, *, warning: bool = False) -> Any:

    return Problem(file, None, kind, message, warning=warning)


def language_problems(
    renderer: Renderer, flows: dict[str, Flow], samples: dict[str, dict[str, Any]]
) -> list[Any]:
    """Every language's problems; `samples` holds each flow's sample context (check.py)."""
    problems: list[Any] = strays(renderer.root)
    for lang in languages_in(renderer.root):
        problems += _templates(renderer, lang, flows, samples)
        problems += _labels(renderer, lang, flows)
        problems += _commands(renderer, lang)
        problems += word_problems(renderer.root, lang, _texts(renderer, lang, flows))
    return problems


def _texts(renderer: Renderer, lang: str, flows: dict[str, Flow]) -> dict[str, tuple[str, str]]:
    """Every translated text with its English: templates, flow labels and menus."""
    english_dir, folder = renderer.prompts_dir, renderer.root / lang
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.rglob("*.j2")):
        source = english_dir / path.relative_to(folder)
        if source.is_file():
            found[f"prompts/{lang}/{path.relative_to(folder).as_posix()}"] = (
                source.read_text(encoding="utf-8"),
                path.read_text(encoding="utf-8"),
            )
    for flow in flows.values():
        path = folder / flow.id / "labels.yaml"
        if path.is_file():
            given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for key, pair in flat(english_labels(flow), given).items():
                found[f"prompts/{lang}/{flow.id}/labels.yaml {key}"] = pair
    path = folder / "commands.yaml"
    if path.is_file():
        english = yaml.safe_load((english_dir / "commands.yaml").read_text(encoding="utf-8"))
        given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, pair in flat(english, given).items():
            found[f"prompts/{lang}/commands.yaml {key}"] = pair
    return found


def _variables(env: Any, source: str) -> set[str]:
    return set(meta.find_undeclared_variables(env.parse(source))) - GLOBALS


def _counted(env: Any, source: str) -> set[str]:
    """The variables a template counts with `plural` (each plural category is tried on them)."""
    return {
        node.node.name
        for node in env.parse(source).find_all(nodes.Filter)
        if node.name == "plural" and isinstance(node.node, nodes.Name)
    }


# An English day name in another language's words: an example people would copy ("sat
# 15:00") should be in their own words ("Sa 15:00", "sábado 15:00", «السبت 15:00»).
ENGLISH_DAY = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\b", re.IGNORECASE
)


def _english_days(file: str, text: str) -> list[Any]:
    found = sorted({m.group(0) for m in ENGLISH_DAY.finditer(text)})
    if not found:
        return []
    return [
        _problem(file, "english-day", f"says {', '.join(found)}: use this language's day names")
    ]


def _plural_forms(env: Any, source: str) -> list[set[str]]:
    """The categories each `plural(...)` filter in a template gives."""
    return [
        {kw.key for kw in node.kwargs}
        for node in env.parse(source).find_all(nodes.Filter)
        if node.name == "plural"
    ]


def _templates(
    renderer: Renderer, lang: str, flows: dict[str, Flow], samples: dict[str, dict[str, Any]]
) -> list[Any]:
    problems: list[Any] = []
    english_dir, folder = renderer.prompts_dir, renderer.root / lang
    english = {p.relative_to(english_dir).as_posix() for p in english_dir.rglob("*.j2")}
    translated = {p.relative_to(folder).as_posix() for p in folder.rglob("*.j2")}
    env = renderer.environment(lang)
    needed = set(plural_categories(lang))
    where = f"prompts/{lang}"
    for name in sorted(english - translated):
        # English answers meanwhile: worth doing, not wrong (a new flow needs no translator).
        problems.append(
            _problem(where, "missing-translation", f"{name} is not translated", warning=True)
        )
    for name in sorted(translated - english):
        problems.append(_problem(where, "extra-template", f"{name} has no English original"))
    for name in sorted(english & translated):
        source = (folder / name).read_text(encoding="utf-8")
        original = (english_dir / name).read_text(encoding="utf-8")
        file = f"{where}/{name}"
        problems += _english_days(file, source)
        try:
            extra = _variables(env, source) - _variables(env, original)
            forms = _plural_forms(env, source)
        except TemplateError as exc:
            problems.append(_problem(file, "render", f"does not parse: {exc}"))
            continue
        if extra:
            problems.append(
                _problem(
                    file,
                    "variables",
                    f"uses {', '.join(sorted(extra))}, which English does not pass",
                )
            )
        for given in forms:
            if needed - given:
                lacking = ", ".join(sorted(needed - given))
                problems.append(_problem(file, "plural", f"plural() lacks {lacking} ({lang})"))
        recorded = SOURCE.match(source)
        if recorded is None:
            problems.append(
                _problem(file, "no-source", "records no English hash ({# en: ... #})", warning=True)
            )
        elif recorded.group(1) != english_hash(original):
            problems.append(
                _problem(
                    file,
                    "stale",
                    f"made from an older English {name}: check it again",
                    warning=True,
                )
            )
    problems += _render_flows(renderer, lang, flows, samples, english & translated)
    problems += _render_common(renderer, lang, english & translated)
    return problems


def _render_flows(
    renderer: Renderer,
    lang: str,
    flows: dict[str, Flow],
    samples: dict[str, dict[str, Any]],
    present: set[str],
) -> list[Any]:
    """Each state's words in this language, in private and in the group, as English is."""

    problems: list[Any] = []
    for flow in flows.values():
        runner = FlowRunner({flow.id: flow}, renderer)
        for name, state in flow.states.items():
            templates = [flow.template_of(name)]
            templates += [f"{flow.id}/{t}" for t in (state.hold, state.ack) if t]
            for template in templates:
                if template is None or f"{template}.j2" not in present:
                    continue
                for in_group in (False, True):
                    sample = samples.get(flow.id, {})
                    variables = sample_variables(runner, flow, name, sample, in_group)
                    problem = _try(renderer, lang, template, variables)
                    if problem:
                        problems.append(problem)
                        break
    return problems


def _render_common(renderer: Renderer, lang: str, present: set[str]) -> list[Any]:
    """`common/` words with any values at all, and with each plural sample number."""
    from bot.words.languages import PLURAL_SAMPLES

    problems: list[Any] = []
    lenient = renderer.environment(lang).overlay(undefined=ChainableUndefined)
    for name in sorted(n for n in present if n.startswith("common/")):
        try:
            template = lenient.get_template(name)
        except TemplateError:
            continue  # does not parse: reported once, by _templates
        counted = _counted(lenient, (renderer.root / lang / name).read_text(encoding="utf-8"))
        runs: list[dict[str, Any]] = [{}]
        runs += [dict.fromkeys(counted, n) for n in PLURAL_SAMPLES]
        for values in runs:
            try:
                text = template.render(**values)
            except TemplateError as exc:
                problems.append(_problem(f"prompts/{lang}/{name}", "render", f"fails: {exc}"))
                break
            except ValueError as exc:  # a plural without the category of a sample number
                problems.append(_problem(f"prompts/{lang}/{name}", "plural", str(exc)))
                break
            if len(text) > MAX_TEXT:
                problems.append(
                    _problem(f"prompts/{lang}/{name}", "too-long", f"{len(text)} characters")
                )
                break
    return problems


def _try(renderer: Renderer, lang: str, template: str, variables: dict[str, Any]) -> Any:
    file = f"prompts/{lang}/{template}.j2"
    try:
        text = renderer.render_in(lang, template, **variables)
    except TemplateError as exc:
        return _problem(file, "render", f"fails to render: {exc}")
    except ValueError as exc:
        return _problem(file, "plural", str(exc))
    if not text.strip():
        return _problem(file, "render", "renders empty")
    if len(text) > MAX_TEXT:
        return _problem(file, "too-long", f"renders {len(text)} characters (limit {MAX_TEXT})")
    return None


def _labels(renderer: Renderer, lang: str, flows: dict[str, Flow]) -> list[Any]:
    problems: list[Any] = []
    for flow in flows.values():
        file = f"prompts/{lang}/{flow.id}/labels.yaml"
        path = renderer.root / lang / flow.id / "labels.yaml"
        if not path.is_file():
            problems.append(
                _problem(file, "missing-translation", "no labels for this flow", warning=True)
            )
            continue
        english = english_labels(flow)
        given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        recorded = given.pop("source", None)
        problems += _compare(file, english, given)
        if recorded is None:
            problems.append(_problem(file, "no-source", "records no `source:` hash", warning=True))
        elif recorded != source_hash(english):
            problems.append(
                _problem(
                    file, "stale", "made from older English labels: check them again", warning=True
                )
            )
    return problems


def _compare(file: str, english: dict[str, Any], given: dict[str, Any], at: str = "") -> list[Any]:
    """Missing and extra keys, too-long labels, placeholders English does not have."""
    import re

    problems: list[Any] = []
    for key in sorted(set(english) - set(given)):
        problems.append(_problem(file, "missing-translation", f"no {at}{key}", warning=True))
    for key in sorted(set(given) - set(english)):
        problems.append(_problem(file, "extra-label", f"{at}{key} is not in English"))
    for key in sorted(set(english) & set(given)):
        ours, theirs = english[key], given[key]
        if isinstance(ours, dict):
            if not isinstance(theirs, dict):
                problems.append(_problem(file, "labels", f"{at}{key} should be a mapping"))
            else:
                problems += _compare(file, ours, theirs, f"{at}{key}.")
            continue
        if isinstance(theirs, dict) and set(theirs) == {"m", "f", "n"}:
            theirs = max(theirs.values(), key=len)  # the longest of its forms
        if not isinstance(theirs, str) or (ours and not theirs.strip()):
            problems.append(_problem(file, "labels", f"{at}{key} should be text"))
            continue
        if set(re.findall(r"\{[a-z_]+\}", theirs)) - set(re.findall(r"\{[a-z_]+\}", ours)):
            problems.append(_problem(file, "variables", f"{at}{key} uses a name English lacks"))
        limit = 256 if key == "description" else MAX_LABEL
        if len(theirs) > limit:
            problems.append(_problem(file, "too-long", f"{at}{key} over {limit} characters"))
    return problems


def _commands(renderer: Renderer, lang: str) -> list[Any]:
    file = f"prompts/{lang}/commands.yaml"
    path = renderer.root / lang / "commands.yaml"
    if not path.is_file():
        return [_problem(file, "missing-translation", "no command descriptions", warning=True)]
    english = yaml.safe_load((renderer.prompts_dir / "commands.yaml").read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    given = yaml.safe_load(text) or {}
    recorded = given.pop("source", None)
    problems = _compare(file, english, given) + _english_days(file, text)
    if recorded != source_hash(english):
        problems.append(
            _problem(
                file, "stale", "made from older English commands: check them again", warning=True
            )
        )
    return problems
