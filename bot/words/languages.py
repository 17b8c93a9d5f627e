"""Which language a person or a group hears, and words that can say themselves in another.

Telegram-free. English is complete and the fallback for anything a language lacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale

ENGLISH = "en"
# The languages whose words ship in prompts/<lang>/ (English first: the default).
SHIPPED = ("en", "de", "es", "ar")
NAMES = {"en": "English", "de": "Deutsch", "es": "Español", "ar": "العربية"}


def base(code: str | None) -> str | None:
    """Telegram's `language_code` ("de-AT", "pt_BR") as its language ("de", "pt")."""
    if not code:
        return None
    first = code.replace("_", "-").split("-")[0].strip().lower()
    return first if first.isalpha() and 2 <= len(first) <= 3 else None


def pick(choice: str | None, telegram_code: str | None) -> str:
    """A person's `/language` choice, else their Telegram language, else English; only a
    shipped language is ever returned (what Telegram says may be one we do not speak)."""
    for code in (choice, base(telegram_code)):
        if code in SHIPPED:
            return code
    return ENGLISH


def unspoken(telegram_code: str | None) -> str | None:
    """The person's Telegram language when we do not ship it ("fr"), else None."""
    code = base(telegram_code)
    return code if code and code not in SHIPPED else None


def english_hash(text: str) -> str:
    """What a translation records of the English it was made from (`{# en: <hash> #}`)."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def right_to_left(lang: str) -> bool:
    return Locale.parse(lang).character_order == "right-to-left"


def plural_categories(lang: str) -> tuple[str, ...]:
    """The CLDR plural categories a language needs, "other" last."""
    tags = Locale.parse(lang).plural_form.tags
    order = ("zero", "one", "two", "few", "many")
    return (*(t for t in order if t in tags), "other")


# Numbers that reach each plural category of the shipped languages (for `flows check`).
PLURAL_SAMPLES = (0, 1, 2, 3, 11, 100, 1_000_000)


# The grammatical forms a person can be addressed in: masculine, feminine, or without
# gender ("sin género"); not chosen yet reads as neutral, like "n".
FORMS = ("m", "f", "n")
# The languages whose second and third person change with the person's gender: only these ask.
GENDERED = frozenset({"es", "ar"})


@dataclass(frozen=True)
class Voice:
    """How a chat is spoken to: its language, and for gendered languages the reader's form
    (in a group: the couple's), the reader's partner's, and each person's by name."""

    lang: str = ENGLISH
    you: str = ""
    partner: str = ""
    people: tuple[tuple[str, str], ...] = ()  # (first name, form) of the couple's partners

    def of(self, name: object) -> str:
        found = {form for person, form in self.people if person == str(name)}
        return found.pop() if len(found) == 1 else ""  # two partners of one name: neutral


def both(first: str | None, second: str | None) -> str:
    """A couple's plural form: feminine when both chose it, masculine when both chose one
    and one is masculine (the grammar's plural), else neutral."""
    forms = {first or "", second or ""}
    if forms == {"f"}:
        return "f"
    return "m" if forms <= {"m", "f"} else "n"


class Words(str):
    """Text in English that can be said again in another language (same template, same
    values). The one way out (the outbox) asks it for the recipient's voice."""

    say: Callable[[str], str]

    def __new__(cls, english: str, say: Callable[[str], str]) -> Words:
        made = super().__new__(cls, english)
        made.say = say
        return made

    def in_(self, voice: Voice | str) -> str:
        voice = voice if isinstance(voice, Voice) else Voice(voice)
        return str(self) if voice.lang == ENGLISH else self._said(voice)

    def _said(self, voice: Voice) -> str:
        return self.say(voice.lang)


class Voiced(Words):
    """Words whose other languages also follow the reader's grammatical form (a template)."""

    def _said(self, voice: Voice) -> str:
        return self.say(voice)  # type: ignore[arg-type]


def joined(separator: str, parts: Sequence[str]) -> str:
    """`separator.join(parts)`, still able to say itself in another language."""
    english = separator.join(parts)
    if not any(isinstance(p, Words) for p in parts):
        return english
    return Voiced(english, lambda voice: separator.join(str(said_in(p, voice)) for p in parts))


def names_list(names: Sequence[str]) -> str:
    """ "Alex and Sam", "Alex und Sam", "Alex y Sam", "Alex وSam": Babel's list pattern."""
    from babel.lists import format_list

    english = format_list(list(names), locale=ENGLISH)
    return Words(english, lambda lang: format_list(list(names), locale=lang))


def said_in(value: Any, voice: Voice | str) -> Any:
    """`value` in `voice` (a Voice or a language) when it is Words (also inside lists, tuples
    and dicts); anything else as it is."""
    if isinstance(value, Words):
        return value.in_(voice)
    if isinstance(value, (list, tuple)):
        return type(value)(said_in(v, voice) for v in value)
    if isinstance(value, dict):
        return {k: said_in(v, voice) for k, v in value.items()}
    return value
