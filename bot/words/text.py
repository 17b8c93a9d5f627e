"""What the bot will say, kept as a value until it is said.

A message is not a string while the bot works on it: it is a `Text` (a template and its
values, a country's name, a list of names) that is said once per reader, in the reader's
language and grammatical form, by the one way out (bot/core/way_out.py). Storage keeps what
was said and never translates.

`Text` is deliberately not a `str`: `+`, an f-string or `str()` on one would say it in
English to everybody, so each raises a TypeError (and mypy rejects a `Text` where a `str`
is expected). To say one, ask for it in a voice: `text.in_(voice)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from bot.words.languages import ENGLISH, Voice

NOT_A_STR = "a Text is said in its reader's voice (text.in_(voice)), never as a str"


class Text:
    """Something to say, not said yet."""

    __slots__ = ()

    def in_(self, voice: Voice | str) -> str:
        return self._said(voice if isinstance(voice, Voice) else Voice(voice))

    def _said(self, voice: Voice) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        raise TypeError(NOT_A_STR)

    def __format__(self, spec: str) -> str:
        raise TypeError(NOT_A_STR)

    def __add__(self, other: object) -> NoReturn:
        raise TypeError(NOT_A_STR)

    def __radd__(self, other: object) -> NoReturn:
        raise TypeError(NOT_A_STR)


# How a renderer says one of its templates: (plain?, voice, template name, values).
Say = Callable[[bool, Voice, str, Mapping[str, Any]], str]


@dataclass(frozen=True, eq=False)
class Template(Text):
    """`prompts/<lang>/<name>.j2` with `values`: Telegram HTML, or `plain` text for a button
    label or a toast. Rendered only when it is said, and only in the reader's language."""

    name: str
    values: Mapping[str, Any]
    plain: bool
    say: Say

    def _said(self, voice: Voice) -> str:
        return self.say(self.plain, voice, self.name, self.values)


@dataclass(frozen=True, eq=False)
class Phrase(Text):
    """Words another library or table knows in every language (a country's or a city's
    name, a flow's title): `english`, and how to say them in a voice."""

    english: str
    say: Callable[[Voice], str]

    @classmethod
    def per_language(cls, english: str, say: Callable[[str], str]) -> Phrase:
        """Words that change with the language alone, not with the reader's form."""
        return cls(english, lambda voice: say(voice.lang))

    def _said(self, voice: Voice) -> str:
        return self.english if voice.lang == ENGLISH else self.say(voice)


def names_list(names: Sequence[str]) -> Text:
    """ "Alex and Sam", "Alex und Sam", "Alex y Sam", "Alex وSam": Babel's list pattern."""
    from babel.lists import format_list

    listed = list(names)
    return Phrase.per_language(
        format_list(listed, locale=ENGLISH), lambda lang: format_list(listed, locale=lang)
    )


def said_in(value: Any, voice: Voice | str) -> Any:
    """`value` said in `voice` when it is a Text (also inside lists, tuples and dicts);
    anything else as it is."""
    if isinstance(value, Text):
        return value.in_(voice)
    if isinstance(value, (list, tuple)):
        return type(value)(said_in(v, voice) for v in value)
    if isinstance(value, dict):
        return {k: said_in(v, voice) for k, v in value.items()}
    return value


def english(value: str | Text) -> str:
    """The English of a value: for the linter, logs and the operator's CLI, never a reader."""
    return value.in_(ENGLISH) if isinstance(value, Text) else value
