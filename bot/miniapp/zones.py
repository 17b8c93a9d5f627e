"""The time zones Our space offers: a searchable list of the IANA zones people live in (each
country's zones, from tzdata's zone.tab, as zoneinfo knows them), named after their city in
the reader's language with the time there now; and suggestions from the device's zone and
the person's language (the same ones the chat's /timezone question offers)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import cache
from importlib.resources import files
from zoneinfo import available_timezones

from bot.coaching import timezones
from bot.words.languages import ENGLISH

FOUND = 30  # matches shown for a search
SUGGESTED = 6


@cache
def names() -> tuple[str, ...]:
    """Every zone a person can pick: one per place in tzdata's zone.tab, and UTC."""
    table = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    listed = {
        line.split("\t")[2]
        for line in table.splitlines()
        if line.strip() and not line.startswith("#")
    }
    return (*sorted(listed & available_timezones()), "UTC")


@cache
def city(zone: str, lang: str) -> str:
    if zone == "UTC":
        return "UTC"
    try:
        return timezones.city(zone, lang)
    except (LookupError, ValueError):  # Babel names every zone.tab zone; just in case
        return zone.rsplit("/", 1)[-1].replace("_", " ")


def _plain(text: str) -> str:
    """Lower case, without accents, underscores as spaces: "São_Paulo" -> "sao paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("_", " "))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


@cache
def _index(lang: str) -> tuple[tuple[str, str, str], ...]:
    """(zone, its city in `lang` and in English, the zone's name), all plain, per zone."""
    return tuple(
        (zone, f"{_plain(city(zone, lang))}\n{_plain(city(zone, ENGLISH))}", _plain(zone))
        for zone in names()
    )


def search(query: str, lang: str, limit: int = FOUND) -> list[str]:
    """Zones whose city (in the reader's language or English) or name holds `query`; cities
    that start with it first. An empty query finds nothing (the page shows suggestions)."""
    wanted = _plain(query)
    if not wanted:
        return []
    starts, holds = [], []
    for zone, cities, name in _index(lang):
        if any(c.startswith(wanted) for c in cities.split("\n")):
            starts.append(zone)
        elif wanted in cities or wanted in name:
            holds.append(zone)
    return (starts + holds)[:limit]


def suggested(lang: str, language_code: str | None, device: str = "") -> list[str]:
    """The device's own zone first (when it is a zone we list), then the language's usual
    ones, as the chat's /timezone question suggests them."""
    # A device set to UTC usually says nothing about where its owner lives.
    first = [device] if device in names() and device != "UTC" else []
    usual = timezones.suggested(lang, language_code)
    return list(dict.fromkeys([*first, *usual]))[:SUGGESTED]


def entry(zone: str, lang: str, now: datetime) -> dict[str, str]:
    """A zone as the page lists it: "Wien · 10:42"."""
    place = city(zone, lang)
    time = timezones.time_in(zone, now, lang)
    return {"zone": zone, "city": place, "time": time, "label": f"{place} · {time}"}
