"""Time zones a person can choose with a tap: a few suggested from their language (and the
region Telegram gives, e.g. es-MX), each named after its city in their language with its
time now; or the zone of a shared location (the nearest of tzdata's zone cities; the person
confirms it, since a border town can be nearer another country's city)."""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel.core import get_global
from babel.dates import format_time, get_timezone_location

# The most used zones of each shipped language's countries, most people first.
BY_LANGUAGE = {
    "en": [
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Europe/Dublin",
        "Australia/Sydney",
        "America/Toronto",
        "Pacific/Auckland",
    ],
    "de": ["Europe/Berlin", "Europe/Vienna", "Europe/Zurich"],
    "es": [
        "Europe/Madrid",
        "America/Mexico_City",
        "America/Bogota",
        "America/Argentina/Buenos_Aires",
        "America/Lima",
        "America/Santiago",
    ],
    "ar": [
        "Africa/Cairo",
        "Asia/Riyadh",
        "Asia/Dubai",
        "Africa/Casablanca",
        "Africa/Algiers",
        "Africa/Tunis",
        "Asia/Amman",
        "Asia/Beirut",
        "Asia/Baghdad",
        "Asia/Kuwait",
        "Asia/Qatar",
    ],
}
SHOWN = 6  # buttons a phone shows without scrolling


def suggested(lang: str, language_code: str | None) -> list[str]:
    """The zones to offer: the region Telegram gives first (its main zone), then the
    language's usual ones."""
    zones = list(BY_LANGUAGE.get(lang, BY_LANGUAGE["en"]))
    region = (language_code or "").replace("_", "-").partition("-")[2].upper()
    of_region = get_global("territory_zones").get(region, []) if region else []
    if of_region:
        first = next((z for z in zones if z in of_region), of_region[0])
        zones = [first, *(z for z in zones if z != first)]
    return zones[:SHOWN]


def city(zone: str, lang: str) -> str:
    """The zone's city in the reader's language ("Wien")."""
    return str(get_timezone_location(zone, locale=lang, return_city=True))


def time_in(zone: str, now: datetime, lang: str) -> str:
    return str(format_time(now, "HH:mm", tzinfo=ZoneInfo(zone), locale=lang))


def label(zone: str, lang: str, now: datetime) -> str:
    """ "Wien · 10:42": the city in the reader's language, and its time now."""
    return f"{city(zone, lang)} · {time_in(zone, now, lang)}"


@cache
def _cities() -> list[tuple[float, float, str]]:
    """tzdata's zone1970.tab: each zone's principal city, in degrees."""
    table = files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text(encoding="utf-8")
    found = []
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        _codes, place, zone = line.split("\t")[:3]
        found.append((*_degrees(place), zone))
    return found


def _degrees(place: str) -> tuple[float, float]:
    """ISO 6709 ±DDMM±DDDMM or ±DDMMSS±DDDMMSS, as (latitude, longitude)."""
    cut = max(place.rfind("+"), place.rfind("-"))
    return _angle(place[:cut], 2), _angle(place[cut:], 3)


def _angle(text: str, whole: int) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    digits = text[1:]
    degrees, rest = int(digits[:whole]), digits[whole:]
    minutes = int(rest[:2]) if rest else 0
    seconds = int(rest[2:4]) if len(rest) > 2 else 0
    return sign * (degrees + minutes / 60 + seconds / 3600)


def nearest(latitude: float, longitude: float) -> str:
    """The zone whose principal city is nearest (great-circle distance)."""

    def distance(city: tuple[float, float, str]) -> float:
        lat, lon, _zone = city
        p1, p2 = math.radians(latitude), math.radians(lat)
        dp, dl = p2 - p1, math.radians(lon - longitude)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * math.asin(min(1.0, math.sqrt(a)))

    return min(_cities(), key=distance)[2]
