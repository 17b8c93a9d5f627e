"""Which country's help numbers a person gets: never another country's.

In order: the country they chose (/safe lets them change it), the couple's timezone (Babel
knows each zone's territory: Europe/Vienna is AT), the region of their Telegram language
(de-AT, es-MX); else nobody knows, and the bot asks with buttons while it shows only what
works everywhere (the local emergency number, findahelpline.com).
"""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global

# Asked when the country is unknown: the countries a language's speakers most likely live in.
LIKELY: dict[str, tuple[str, ...]] = {
    "en": ("US", "GB", "CA", "AU", "IE", "NZ"),
    "de": ("DE", "AT", "CH"),
    "es": ("ES", "MX", "AR", "CO", "CL", "PE"),
    "ar": ("EG", "SA", "AE", "MA", "DZ", "TN", "JO", "LB", "IQ", "KW", "QA"),
}


@cache
def _zones() -> dict[str, str]:
    return dict(get_global("zone_territories"))


def of_timezone(timezone: str | None) -> str | None:
    """Europe/Vienna -> AT; UTC and other zones of no territory -> None."""
    territory = _zones().get(timezone or "")
    return territory if territory and len(territory) == 2 and territory != "ZZ" else None


def of_language(code: str | None) -> str | None:
    """de-AT -> AT, es_MX -> MX; de, es-419 (a region of the world) -> None."""
    parts = (code or "").replace("_", "-").split("-")
    if len(parts) >= 2 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return None


def resolve(chosen: str | None, timezone: str | None, language_code: str | None) -> str | None:
    return chosen or of_timezone(timezone) or of_language(language_code)


def name(country: str, lang: str) -> str:
    """The country's name in the reader's language (Babel's CLDR names)."""
    try:
        return str(Locale.parse(lang).territories.get(country, country))
    except (ValueError, UnknownLocaleError):
        return country
