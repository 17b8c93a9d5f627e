"""Help for the person's country, never another's; and nothing on a lock screen that tips
off whoever glances at the phone."""

from __future__ import annotations

import re

import pytest

from bot import PROJECT_ROOT
from bot.safety import country
from bot.safety.helplines import EVERYWHERE, entries, helplines_for
from bot.words.text import Text
from bot.words.texts import Renderer, plain

REQUIRED = [
    "DE",
    "AT",
    "CH",
    "ES",
    "MX",
    "AR",
    "CO",
    "CL",
    "PE",
    "US",
    "CA",
    "GB",
    "IE",
    "AU",
    "NZ",
    "FR",
    "BE",
    "NL",
    "IT",
    "PT",
    "EG",
    "SA",
    "AE",
    "MA",
    "DZ",
    "TN",
    "JO",
    "LB",
    "IQ",
    "KW",
    "QA",
]


def test_at_least_forty_countries_and_every_listed_one() -> None:
    assert len(entries()) >= 40
    assert set(REQUIRED) <= set(entries())


@pytest.mark.parametrize("code", sorted(entries()))
def test_each_entry_has_emergency_crisis_and_violence_with_a_source(code: str) -> None:
    entry = entries()[code]
    for kind in ("emergency", "crisis", "violence"):
        assert str(entry[kind]["number"]).strip(), (code, kind)
    for kind in ("crisis", "violence", "men"):
        if kind in entry:
            assert entry[kind]["name"] and entry[kind]["source"], (code, kind)
            assert entry[kind]["source"] == "knowledge" or entry[kind]["source"].startswith("http")
            assert entry[kind].get("checked") or entry[kind].get("unverified"), (code, kind)
    shown = helplines_for(code)
    assert shown.country == code and shown.emergency == str(entry["emergency"]["number"])
    assert len(shown.lines) >= 3 and shown.lines[-1] == EVERYWHERE


@pytest.mark.parametrize("lang", sorted(country.LIKELY))
def test_a_languages_likely_countries_all_have_their_lines(lang: str) -> None:
    """A shipped language's texts promise an emergency number, a crisis line and a
    violence line: each country its speakers are asked about has all three."""
    for code in country.LIKELY[lang]:
        assert code in entries(), (lang, code)
        assert {"emergency", "crisis", "violence"} <= set(entries()[code]), (lang, code)


def test_an_arabic_speaker_reads_each_arab_countrys_lines_by_their_arabic_names() -> None:
    arab = [code for code in country.LIKELY["ar"] if "ar" in entries()[code].get("languages", [])]
    assert len(arab) >= 10
    for code in arab:
        crisis, violence = helplines_for(code).lines[:2]
        for shown in (crisis, violence):
            assert isinstance(shown, Text), (code, shown)
            name = shown.in_("ar").split(":")[0]
            assert re.search("[\u0600-\u06ff]", name), (code, shown)
            # no English left in it (two organisations write their own Latin brand)
            assert not re.search("[A-Za-z]{4}", name.replace("HOPE", "").replace("Embrace", ""))


def test_an_unknown_country_gets_nobody_elses_numbers() -> None:
    unknown = helplines_for(None)
    assert unknown.country is None and unknown.emergency is None
    assert unknown.lines == [EVERYWHERE]
    assert helplines_for("ZZ").lines == [EVERYWHERE]


@pytest.mark.parametrize(
    ("chosen", "timezone", "language", "found"),
    [
        (None, "Europe/Vienna", "en", "AT"),  # the couple's timezone beats the language
        (None, "America/Mexico_City", "es", "MX"),
        (None, "Africa/Cairo", "ar", "EG"),
        (None, "UTC", "de-AT", "AT"),  # no territory: the language's region
        (None, "UTC", "es-419", None),  # a region of the world is no country
        (None, None, "ar", None),  # nothing known: the bot asks
        ("CH", "Europe/Vienna", "de-AT", "CH"),  # what the person chose beats both
    ],
)
def test_the_country_comes_from_choice_timezone_then_language(
    chosen: str | None, timezone: str | None, language: str, found: str | None
) -> None:
    assert country.resolve(chosen, timezone, language) == found


# What a lock screen shows of a message: its first characters. None of these may be there.
TELLING = {
    "en": r"help|number|emergenc|danger|hurt|harm|safe|suicid|violen|police|call|abuse",
    "de": r"hilfe|nummer|notruf|gefahr|verletz|sicher|suizid|gewalt|polizei|ruf",
    "es": r"ayuda|número|numero|emergencia|peligro|daño|segur|suicid|violencia|policía|llama",
    "ar": r"مساعد|رقم|أرقام|طوارئ|خطر|أذى|آمن|انتحار|عنف|شرطة|اتصل",
}
SAFETY_MESSAGES = [
    "safety_ask",
    "safety_check",
    "safety_coercion",
    "safety_fear",
    "safety_fear:paused",  # the check-in's "not always"
    "safety_self_harm",
    "safety_violence",
    "safety_which_country",
    "safe",
]


@pytest.mark.parametrize("lang", sorted(TELLING))
@pytest.mark.parametrize("name", SAFETY_MESSAGES)
def test_the_first_150_characters_of_a_safety_message_tell_nothing(lang: str, name: str) -> None:
    renderer = Renderer(PROJECT_ROOT / "prompts")
    name, _, paused = name.partition(":")
    text = plain(
        renderer.render_in(
            lang,
            f"common/{name}",
            paused=bool(paused),
            emergency="112",
            lines=["TelefonSeelsorge: 142 (24/7)", EVERYWHERE],
            phone=renderer.render_in(lang, "common/safety_phone"),
            country="Österreich",
        )
    )
    shown = text[:150]
    assert not re.search(r"\d", shown), shown
    assert not re.search(TELLING[lang], shown.casefold()), shown
    assert "112" in text or name in ("safety_check", "safety_which_country")
