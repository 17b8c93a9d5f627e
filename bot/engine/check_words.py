"""`flows check` for what a native reader would catch: gendered words written without the
reader's form, forms a language does not use, and key terms not named as its glossary says.

A language's `FORMS.yaml` lists unambiguous gendered words (`masculine`, `feminine`) and
patterns it never uses (`never`); its `GLOSSARY.md` names each key term (prompts/README.md).
The end-to-end tests read the same form tables to check what a woman and a man receive.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.engine.samples import Problem

# A call that chooses the reader's, the partner's or a named person's form: its words are
# allowed to be gendered. Arguments are string literals and names, never nested calls.
FORM_CALL = re.compile(r"""\b(?:g|pg|of)\((?:[^()"']|"[^"]*"|'[^']*')*\)""")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"\w+")


def plain(text: str) -> str:
    """Casefolded, without accents or Arabic marks: how terms and forms are compared."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    no_marks = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", no_marks.replace("\u0640", ""))


@dataclass(frozen=True)
class Forms:
    """A language's form table."""

    masculine: frozenset[str] = frozenset()
    feminine: frozenset[str] = frozenset()
    never: tuple[re.Pattern[str], ...] = ()

    def gendered(self, text: str) -> list[str]:
        """The table's gendered words in `text`, in order of appearance."""
        both = self.masculine | self.feminine
        return [w for w in WORD.findall(plain(text)) if w in both]

    def of_gender(self, text: str, form: str) -> list[str]:
        """Words of one gender ("m" or "f") in a rendered message."""
        table = self.masculine if form == "m" else self.feminine
        return [w for w in WORD.findall(plain(text)) if w in table]


@cache
def forms(prompts_root: Path, lang: str) -> Forms:
    path = prompts_root / lang / "FORMS.yaml"
    if not path.is_file():
        return Forms()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Forms(
        frozenset(plain(w) for w in data.get("masculine") or []),
        frozenset(plain(w) for w in data.get("feminine") or []),
        tuple(re.compile(p, re.IGNORECASE) for p in data.get("never") or []),
    )


@dataclass(frozen=True)
class Term:
    english: str
    ours: str
    never: tuple[str, ...] = field(default_factory=tuple)

    def said_in(self, text: str) -> bool:
        """Every word of the term appears (inside a longer word is fine: a case ending, an
        Arabic prefix)."""
        found = plain(text)
        return all(word in found for word in WORD.findall(plain(self.ours)))

    def forbidden_in(self, text: str) -> list[str]:
        words = set(WORD.findall(plain(text)))
        return [n for n in self.never if plain(n) in words or _phrase(plain(n), plain(text))]


def _phrase(needle: str, text: str) -> bool:
    return " " in needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text) is not None


@cache
def glossary(prompts_root: Path, lang: str) -> tuple[Term, ...]:
    """The key terms of a language's GLOSSARY.md table (`| English | <lang> | never |`)."""
    path = prompts_root / lang / "GLOSSARY.md"
    if not path.is_file():
        return ()
    terms, in_table = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        if cells[0] == "English":
            in_table = True
            continue
        if in_table and len(cells) >= 2 and not set(cells[0]) <= set("-: "):
            never = (
                tuple(n.strip() for n in cells[2].split(",") if n.strip()) if len(cells) > 2 else ()
            )
            terms.append(Term(cells[0], cells[1], never))
    return tuple(terms)


def _problem(file: str, kind: str, message: str) -> Any:
    return Problem(file, None, kind, message)


def word_problems(root: Path, lang: str, texts: dict[str, tuple[str, str]]) -> list[Any]:
    """Problems in one language's texts: `texts` maps a place (a template's path, a label's
    key) to (its English source, its translation's source)."""
    table, terms = forms(root, lang), glossary(root, lang)
    problems: list[Any] = []
    for place, (english, theirs) in sorted(texts.items()):
        bare = TAG.sub(" ", JINJA.sub(" ", FORM_CALL.sub(" ", theirs)))
        loose = sorted(set(table.gendered(bare)))
        if loose:
            problems.append(
                _problem(place, "gender", f"{', '.join(loose)} without the reader's form (g())")
            )
        for pattern in table.never:
            if pattern.search(theirs):
                problems.append(_problem(place, "form", f"uses {pattern.pattern!r}"))
        for term in terms:
            if re.search(rf"\b{re.escape(term.english)}\b", english) and not term.said_in(theirs):
                problems.append(
                    _problem(place, "glossary", f"names {term.english!r} without {term.ours!r}")
                )
            for word in term.forbidden_in(bare):
                problems.append(
                    _problem(place, "glossary", f"{word!r} does not name {term.english!r} here")
                )
    return problems


def flat(english: Any, theirs: Any, at: str = "") -> dict[str, tuple[str, str]]:
    """Labels as place -> (English, translation); a gendered mapping counts as its three
    forms written inside a form call."""
    found: dict[str, tuple[str, str]] = {}
    if isinstance(english, dict) and isinstance(theirs, dict):
        for key in set(english) & set(theirs):
            found |= flat(english[key], theirs[key], f"{at}.{key}" if at else str(key))
    elif isinstance(english, str) and isinstance(theirs, str):
        found[at] = (english, theirs)
    elif isinstance(english, str) and isinstance(theirs, dict) and set(theirs) == {"m", "f", "n"}:
        found[at] = (english, " ".join(f'g("{v}")' for v in theirs.values()))
    return found
