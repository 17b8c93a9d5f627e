from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.storage.models import Couple
from tests.helpers import Rig, linked_group, pair


def couple(rig: Rig) -> Couple:
    with Session(rig.engine) as session:
        return session.exec(select(Couple)).one()


async def test_timezone_defaults_to_utc_and_can_be_set(rig: Rig) -> None:
    alex, sam = await pair(rig)
    assert couple(rig).timezone == "UTC"
    alex.says("/schedule sun 19:00")
    await alex.sees("Sunday at 19:00", "UTC, until you choose your time zone")
    await sam.sees("Sunday at 19:00", "UTC, until you choose your time zone")
    alex.says("/timezone europe/berlin")  # a zone's name still works for those who know it
    await alex.sees("Timezone set", "Berlin")
    await sam.sees("Alex set your timezone", "Berlin")
    assert couple(rig).timezone == "Europe/Berlin"
    sam.says("/timezone")
    await sam.sees("Which time zone", "Now: Berlin")
    await sam.sees("Share my location")


async def test_the_time_zone_is_a_tap_or_a_shared_location(rig: Rig) -> None:
    """Never an IANA name to type: the zones of the person's language (their Telegram
    region first), each with its time now; or a shared location, confirmed."""
    alex = rig.person("Alex", language_code="es-MX")
    sam = rig.person("Sam")
    alex.says("/invite")
    code = (await alex.sees("enlace")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    asked = await alex.sees("¿en qué zona horaria están?")
    cities = [b["text"].split(" · ")[0] for b in asked.buttons]
    assert cities[:3] == ["Ciudad de México", "Madrid", "Bogotá"]
    await alex.sees("Compartir mi ubicación")
    await alex.sees("1/3")
    await sam.sees("now a couple")
    await sam.sees("Share my location")
    await sam.sees("1/3")
    await alex.presses(asked.buttons[0]["text"])
    await alex.sees("Zona horaria", "Ciudad de México")
    await sam.sees("Alex set your timezone", "Mexico City")
    assert couple(rig).timezone == "America/Mexico_City"

    sam.shares_location(38.7223, -9.1393)  # Lisbon
    found = await sam.sees("That's Lisbon time (", " now)", "Is that right?")
    assert [b["text"] for b in found.buttons] == ["✅ Yes", "Choose another"]
    await sam.presses("✅ Yes")
    done = await sam.sees("Timezone set", "Lisbon")
    assert (done.reply_markup or {}).get("remove_keyboard")  # the location key goes away
    await alex.sees("Sam fijó", "Lisboa")
    assert couple(rig).timezone == "Europe/Lisbon"


async def test_a_change_made_in_the_group_is_said_once_there(rig: Rig) -> None:
    """Both read the group: the partner gets no private copy of the same news (strict
    reading fails the test if one comes)."""
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/schedule sun 19:30", group)
    await sam.sees("Sunday at 19:30", in_=group)
    alex.says("/timezone Europe/Berlin", group)
    await sam.sees("Timezone set", "Berlin", in_=group)
    assert (couple(rig).meeting_time, couple(rig).timezone) == ("19:30", "Europe/Berlin")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Berlin Germany", "+5", "x" * 300])
async def test_bad_timezone_gets_an_example_and_changes_nothing(rig: Rig, bad: str) -> None:
    alex, _ = await pair(rig)
    alex.says(f"/timezone {bad}")
    await alex.sees("Europe/Berlin", "don't know")
    assert couple(rig).timezone == "UTC"


async def test_schedule_is_stored_and_shown(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/schedule")
    await alex.sees("No weekly meeting set")
    alex.says("/schedule SUNDAY 19:00")
    await alex.sees("Sunday at 19:00", "UTC")
    await sam.sees("Alex set your weekly", "Sunday at 19:00")
    stored = couple(rig)
    assert (stored.meeting_day, stored.meeting_time) == (6, "19:00")
    sam.says("/schedule wed 7:30")
    await sam.sees("Wednesday at 07:30")
    await alex.sees("Sam set your weekly", "Wednesday at 07:30")
    sam.says("/schedule")
    await sam.sees("Wednesday at 07:30")


@pytest.mark.parametrize("bad", ["funday 19:00", "sun 25:00", "sun", "19:00 sun", "sun 7pm x"])
async def test_bad_schedule_gets_an_example_and_changes_nothing(rig: Rig, bad: str) -> None:
    alex, sam = await pair(rig)
    alex.says("/schedule mon 08:00")
    await alex.sees("Monday at 08:00")
    await sam.sees("Alex set your weekly", "Monday at 08:00")
    alex.says(f"/schedule {bad}")
    await alex.sees("/schedule sun 19:00", "couldn't read")
    stored = couple(rig)
    assert (stored.meeting_day, stored.meeting_time) == (0, "08:00")


async def test_settings_need_a_couple(rig: Rig) -> None:
    loner = rig.person("Robin")
    for command in ("/timezone Europe/Paris", "/schedule sun 19:00", "/pause"):
        loner.says(command)
        await loner.sees("not paired yet")


async def test_pause_and_resume_are_stored_and_the_partner_is_told(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/pause")
    await alex.sees("paused")
    await sam.sees("Alex paused")
    assert couple(rig).paused
    alex.says("/pause")
    await alex.sees("already paused")
    sam.says("/resume")
    await sam.sees("back on")
    await alex.sees("Sam turned the nudges back on")
    assert not couple(rig).paused


async def test_cancel_says_so_when_nothing_runs(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/cancel")
    await alex.sees("Nothing is running")
