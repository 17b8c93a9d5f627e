"""Which language a person or a group hears, and in which grammatical form (a `Voice`).

Telegram-free. English is complete and the fallback for anything a language lacks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
