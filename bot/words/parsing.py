"""Parsing what partners type after a command: timezones and weekly meeting times."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


class ParseError(ValueError):
    """The input was not understood; the message names the problem."""


@dataclass(frozen=True)
class WeeklySlot:
    day: int  # 0 = Monday ... 6 = Sunday
    time: str  # "HH:MM"

    @property
    def day_name(self) -> str:
        return DAYS[self.day].capitalize()


def parse_timezone(text: str) -> str:
    """Return the canonical IANA name for `text` (case-insensitive), or raise ParseError."""
    name = text.strip()
    if not name or len(name) > 64 or " " in name:
        raise ParseError("not a timezone name")
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    lowered = name.lower()
    for candidate in available_timezones():
        if candidate.lower() == lowered:
            return candidate
    raise ParseError(f"unknown timezone {name}")


# Arabic is typed with or without the hamza on alef, and with ى or ي, ة or ه.
ARABIC = {ord(a): b for a, b in {"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"}.items()}


def _plain(word: str) -> str:
    """Lower case, without accents, Arabic without its optional marks and "al-"."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.translate(ARABIC)
    return bare.removeprefix("ال") if bare.startswith("ال") and len(bare) > 4 else bare


@cache
def _day_names() -> dict[str, int]:
    """Every shipped language's day names, wide and abbreviated (Babel)."""
    from babel.dates import get_day_names

    from bot.words.languages import SHIPPED

    names: dict[str, int] = {}
    for lang in SHIPPED:
        for width in ("wide", "abbreviated"):
            for index, name in get_day_names(width, locale=lang).items():
                names.setdefault(_plain(str(name)).rstrip("."), index)
    return names


def parse_day(text: str) -> int:
    """ "sun", "Sunday", "Sonntag", "domingo", "الأحد": any day name or an unambiguous start
    of one (three letters or more), in English or a shipped language."""
    word = text.strip().lower()
    if len(word) >= 3:  # "mon", "tues", "wednesday": any unambiguous start of a day
        for index, day in enumerate(DAYS):
            if day.startswith(word):
                return index
    plain, names = _plain(text).rstrip("."), _day_names()
    if plain in names:
        return names[plain]
    if len(plain) >= 3:
        found = {index for name, index in names.items() if name.startswith(plain)}
        if len(found) == 1:
            return found.pop()
    raise ParseError(f"unknown day {text}")


def parse_weekly_slot(text: str) -> WeeklySlot:
    """Parse "sun 19:00" or "Sunday 7:30" into a WeeklySlot."""
    parts = text.split()
    if len(parts) != 2:
        raise ParseError("expected a day and a time")
    day = parse_day(parts[0])
    match = TIME_PATTERN.match(parts[1].strip())
    if not match:
        raise ParseError(f"unknown time {parts[1]}")
    return WeeklySlot(day=day, time=f"{int(match.group(1)):02d}:{match.group(2)}")


def parse_clock_time(text: str) -> str:
    """ "7:30" or "07.30" -> "07:30"."""
    match = TIME_PATTERN.match(text.strip())
    if not match:
        raise ParseError(f"unknown time {text}")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_quiet_hours(text: str) -> tuple[str, str]:
    """ "22:00 08:00" -> ("22:00", "08:00"): the start and end of a quiet window."""
    parts = text.split()
    if len(parts) != 2:
        raise ParseError("expected two times")
    return parse_clock_time(parts[0]), parse_clock_time(parts[1])
