from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.words.parsing import ParseError, parse_timezone, parse_weekly_slot


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        ("sun 19:00", 6, "19:00"),
        ("Sunday 19:00", 6, "19:00"),
        ("MON 7:05", 0, "07:05"),
        ("wednesday 20.30", 2, "20:30"),
        ("Tues 00:00", 1, "00:00"),
        ("sat 23:59", 5, "23:59"),
    ],
)
def test_weekly_slots(text: str, day: int, time: str) -> None:
    slot = parse_weekly_slot(text)
    assert (slot.day, slot.time) == (day, time)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sun",
        "su 19:00",
        "sun 24:00",
        "sun 19:60",
        "sun 7pm",
        "noday 10:00",
        "sun 19:00 extra",
        "19:00 sun",
    ],
)
def test_bad_weekly_slots(text: str) -> None:
    with pytest.raises(ParseError):
        parse_weekly_slot(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("UTC", "UTC"),
        ("america/new_york", "America/New_York"),
    ],
)
def test_timezones(text: str, name: str) -> None:
    assert parse_timezone(text) == name


@pytest.mark.parametrize("text", ["", "Berlin", "Mars/Base", "Europe/Berlin x", "../etc/passwd"])
def test_bad_timezones(text: str) -> None:
    with pytest.raises(ParseError):
        parse_timezone(text)


def test_settings_reject_an_unknown_default_timezone() -> None:
    with pytest.raises(ConfigError, match="DEFAULT_TIMEZONE"):
        load_settings(default_timezone="Nowhere/Land")


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("Samstag 15:00", 5),
        ("sábado 15:00", 5),
        ("sabado 15:00", 5),
        ("Mittwoch 19:30", 2),
        ("miércoles 19:30", 2),
        ("الأحد 19:00", 6),
        ("الاحد 19:00", 6),
        ("So. 10:00", 6),
        ("Donnerstag 8:00", 3),
    ],
)
def test_a_weekly_slot_in_each_shipped_language(typed: str, day: int) -> None:
    assert parse_weekly_slot(typed).day == day
