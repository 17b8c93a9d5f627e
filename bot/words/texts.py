"""The Jinja2 environments, one per language: every word the bot says comes from a template
in `prompts/<lang>/`, and English (`prompts/en/`) answers for anything a language lacks."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import Any

from babel.dates import format_skeleton, get_day_names
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from bot.words.labels import Labels
from bot.words.languages import ENGLISH, Voice, plural_categories, right_to_left
from bot.words.parsing import ParseError, parse_weekly_slot
from bot.words.text import Template, Text, said_in

# Unicode first-strong isolate and pop directional isolate: a Latin name or a number inside
# an Arabic sentence keeps its own direction and does not flip what is around it.
FSI, PDI = "\u2068", "\u2069"
# The first line of a translation: the hash of the English template it was made from.
SOURCE = re.compile(r"^\{#\s*en:\s*([0-9a-f]+)\s*#\}")


def mention(user_id: int, name: str) -> Markup:
    """A Telegram HTML mention: pings the person and makes a selective ForceReply reach them."""
    return Markup('<a href="tg://user?id={}">{}</a>').format(int(user_id), name)


class MissingPlural(ValueError):
    """A template's `plural` lacks a category its language needs for this number."""


def _plural(lang: str, n: object, **forms: str) -> str:
    """`{{ days | plural(one="{n} day", other="{n} days") }}`: the form of the language's CLDR
    category for n (Babel), with {n} filled in. Arabic also needs zero, two, few and many."""
    from babel import Locale

    number = int(n) if isinstance(n, (int, float, str)) and str(n).lstrip("-").isdigit() else 0
    category = Locale.parse(lang).plural_form(number)
    if category not in forms:  # `flows check` renders every category each language needs
        needed = ", ".join(plural_categories(lang))
        raise MissingPlural(f"plural: no {category!r} form for {number} ({lang} needs {needed})")
    if right_to_left(lang):  # only the number is isolated: the words are the sentence's own
        return Isolated(escape(forms[category]).replace("{n}", f"{FSI}{number}{PDI}"))
    return forms[category].replace("{n}", str(number))


def _weekday(lang: str, day: object) -> str:
    """Monday = 0 ... Sunday = 6, as the language writes the day ("Sonntag", "الأحد")."""
    if not isinstance(day, int):
        return str(day)
    return str(get_day_names("wide", locale=lang)[day])


def _slot(lang: str, text: object) -> str:
    """ "sat 15:00" as "Saturday 15:00" (in the language); anything else as typed."""
    try:
        parsed = parse_weekly_slot(str(text))
    except ParseError:
        return str(text)
    return f"{_weekday(lang, parsed.day)} {_time(lang, parsed.time)}"


def _time(lang: str, value: object) -> str:
    """A time of day the local way (Babel; "19:00")."""
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value):
        hours, minutes = value.split(":")
        value = time(int(hours), int(minutes))
    if isinstance(value, time):
        value = datetime.combine(date(2000, 1, 3), value)
    if not isinstance(value, datetime):
        return str(value)
    return str(format_skeleton("Hm", value, tzinfo=value.tzinfo, locale=lang))


def _date(lang: str, value: object, length: str = "short") -> str:
    """A day the local way (Babel): short "Nov 29, 2026", "29. Nov. 2026"; long "Sunday,
    November 29", "Sonntag, 29. November"."""
    if not isinstance(value, date):
        return str(value)
    skeleton = "MMMMEEEEd" if length == "long" else "yMMMd"
    return str(format_skeleton(skeleton, value, locale=lang))


def _when(lang: str, value: object) -> str:
    """A weekday and a time the local way: "Sunday 19:00", "Sonntag, 19:00"."""
    if not isinstance(value, datetime):
        return str(value)
    return f"{_weekday(lang, value.weekday())} {_time(lang, value)}"


VOICE = "_voice"  # the render context's key for the reader's Voice


def _form(form: str, m: str, f: str, n: str) -> str:
    return {"m": m, "f": f}.get(form, n)


@pass_context
def _g(context: Context, m: str, f: str, n: str) -> str:
    """`{{ g("listo", "lista", "con todo a punto") }}`: the reader's form (masculine,
    feminine, neutral; neutral until they chose). In a group, the couple's plural."""
    voice = context.get(VOICE) or Voice()
    return _form(voice.you, m, f, n)


@pass_context
def _pg(context: Context, m: str, f: str, n: str) -> str:
    """The same for the reader's partner (in a private chat; neutral in a group)."""
    voice = context.get(VOICE) or Voice()
    return _form(voice.partner, m, f, n)


@pass_context
def _of(context: Context, name: object, m: str, f: str, n: str) -> str:
    """The same for the partner called `name` (`{{ of(name.speaker, "...", "...", "...") }}`)."""
    voice = context.get(VOICE) or Voice()
    return _form(voice.of(name), m, f, n)


class Isolated(Markup):
    """Text whose names and numbers are isolated already (a plural's words around its number)."""


def _isolate(value: object) -> object:
    """Right-to-left languages: each value inside a sentence (a name, a number) is isolated."""
    if isinstance(value, (Undefined, Isolated)) or value is None:
        return value
    text = str(value)
    if not text or "\n" in text or text.startswith(FSI):
        return value
    if isinstance(value, Markup):
        return Markup(FSI) + value + Markup(PDI)
    return f"{FSI}{text}{PDI}"


def environment(folders: list[Path], lang: str, undefined: type[Undefined]) -> Environment:
    """One language's Jinja2 environment: its folder first, then English's."""
    env = Environment(
        loader=FileSystemLoader([str(f) for f in folders]),
        undefined=undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=True,
        keep_trailing_newline=False,
        finalize=_isolate if right_to_left(lang) else None,
    )
    env.globals["mention"] = mention
    env.globals["g"] = _g
    env.globals["pg"] = _pg
    env.globals["of"] = _of
    env.globals["lang"] = lang
    env.filters["slot"] = partial(_slot, lang)
    env.filters["plural"] = partial(_plural, lang)
    env.filters["weekday"] = partial(_weekday, lang)
    env.filters["time"] = partial(_time, lang)
    env.filters["date"] = partial(_date, lang)
    env.filters["when"] = partial(_when, lang)
    env.filters["and_list"] = partial(_and_list, lang)
    return env


def _and_list(lang: str, items: list[Any]) -> str:
    """ "hurt, angry and sad" in the reader's language (Babel's list pattern)."""
    from babel.lists import format_list

    return format_list([str(i) for i in items], locale=lang) if items else ""


class Renderer:
    """Renders templates by name (`common/welcome`, `sotu/speaker_talks`), in English, as
    Texts that are said in each reader's language at the one way out (bot/core/way_out.py).

    Autoescaping is on, so names and answers a partner typed are HTML-escaped for
    Telegram's HTML parse mode, while the templates themselves may use <b> and <i>.
    """

    def __init__(self, prompts_dir: Path, undefined: type[Undefined] = StrictUndefined) -> None:
        self.root = prompts_dir
        self.prompts_dir = prompts_dir / ENGLISH
        self.undefined = undefined
        self._envs: dict[str, tuple[Environment, Environment]] = {}
        self.env = self._env(ENGLISH)[0]
        self.labels = Labels(prompts_dir)

    def _env(self, lang: str) -> tuple[Environment, Environment]:
        made = self._envs.get(lang)
        if made is None:
            folders = [self.root / lang] if lang != ENGLISH else []
            env = environment([*folders, self.prompts_dir], lang, self.undefined)
            # Button labels are plain text on Telegram: the same templates, nothing escaped.
            made = self._envs[lang] = (env, env.overlay(autoescape=False))
        return made

    def has(self, name: str) -> bool:
        return (self.prompts_dir / f"{name}.j2").is_file()

    def render(self, name: str, /, **context: Any) -> Text:
        """Telegram HTML: what a person typed is escaped. Said at the way out."""
        return Template(name, _snapshot(context), False, self._say)

    def label(self, name: str, /, **context: Any) -> Text:
        """A button label or a toast: plain text, shown as written."""
        return Template(name, _snapshot(context), True, self._say)

    def render_in(self, voice: Voice | str, name: str, /, **context: Any) -> str:
        return self._say(False, voice, name, context)

    def label_in(self, voice: Voice | str, name: str, /, **context: Any) -> str:
        return self._say(True, voice, name, context)

    def _say(self, plain: bool, voice: Voice | str, name: str, context: Mapping[str, Any]) -> str:
        voice = voice if isinstance(voice, Voice) else Voice(voice)
        values = {k: said_in(v, voice) for k, v in context.items()}
        values[VOICE] = voice
        template = self._env(voice.lang)[int(plain)].get_template(f"{name}.j2")
        return _tidy(template.render(**values))

    def environment(self, lang: str) -> Environment:
        return self._env(lang)[0]


def _snapshot(value: Any) -> Any:
    """The values as they are now: a list a flow appends to after it spoke must not change
    what it said (the Text is said later, at the way out)."""
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def plain(html_text: str) -> str:
    """Telegram HTML as plain text, for a toast (answerCallbackQuery shows text as is)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
