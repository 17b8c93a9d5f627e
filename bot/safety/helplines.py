"""Where to get help: one country's numbers, never another's (helplines.yaml).

Each entry has the emergency number, a crisis line, a domestic-violence line, and a men's line
where one exists, each with the source it was checked against. An unknown country gets no
numbers of anyone else: the template says "your local emergency number" and findahelpline.com.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.words.text import Phrase, Text
from bot.yaml_files import read_yaml

HERE = Path(__file__).resolve().parent
EVERYWHERE = "https://findahelpline.com"
LINES = ("crisis", "violence", "men")


@dataclass(frozen=True)
class Helplines:
    country: str | None  # None: not known, nothing country-specific is shown
    emergency: str | None
    lines: list[str | Text]


@cache
def entries(path: Path = HERE / "helplines.yaml") -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = read_yaml(path)
    return {str(code): entry for code, entry in loaded["countries"].items()}


def line(entry: dict[str, Any]) -> str | Text:
    """ "TelefonSeelsorge: 0800 111 0 111 (24/7)": the line's own name (in the reader's
    language where the entry has it under `names`), and the number."""
    hours = " (24/7)" if str(entry.get("hours", "")).startswith("24/7") else ""
    english = f"{entry['name']}: {entry['number']}{hours}"
    names: dict[str, str] = entry.get("names") or {}
    if not names:
        return english
    return Phrase.per_language(
        english, lambda lang: f"{names.get(lang, entry['name'])}: {entry['number']}{hours}"
    )


def helplines_for(country: str | None) -> Helplines:
    entry = entries().get(country or "")
    if entry is None:
        return Helplines(None, None, [EVERYWHERE])
    lines = [line(entry[kind]) for kind in LINES if kind in entry]
    return Helplines(country, str(entry["emergency"]["number"]), [*lines, EVERYWHERE])
