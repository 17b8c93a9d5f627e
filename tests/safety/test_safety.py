"""Safety first, through the real bot: each kind of danger gets its own private answer, the
partner and the group learn nothing, and the person decides what happens next."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from babel.dates import get_timezone_location
from sqlmodel import Session, select

from bot.emulator import Human
from bot.storage.models import Couple, FlowRun, Partner
from tests.helpers import Rig, first_speaker, linked_group, pair, warm_up

NEUTRAL_FIRST_LINE = "A quick note from your coach 🌿"
# Words that would tell a partner something happened.
HINTS = ("safe", "help", "pause", "danger", "left", "worried", "concern", "abuse", "quiet")


def run_state(rig: Rig) -> tuple[str, int, dict[str, object]]:
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun)).one()
        return run.state, run.version, run.context


def person_row(rig: Rig, person_id: int) -> Partner:
    with Session(rig.engine) as session:
        row = session.get(Partner, person_id)
        assert row is not None
        return row


async def to_the_speaker_step(alex, sam) -> None:  # type: ignore[no-untyped-def]
    alex.says("/sotu")  # no group: private chats, where the speaker's words are shared
    await alex.sees("State of the Union", "in private chats")
    await sam.presses("We're ready")
    await warm_up(alex, sam)
    await alex.sees("one issue for today")
    await sam.sees("one issue for today")
    sam.says("weekends")
    await alex.presses("Yes, this one")
    await sam.presses("Yes, this one")
    await first_speaker(alex, sam, "Alex")
    await alex.sees("you speak first")


async def test_violence_stops_the_exercise_and_does_not_offer_to_go_on_first(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await to_the_speaker_step(alex, sam)
    before = run_state(rig)
    sam_before = sam.inbox()
    alex.says("Honestly he hits me when he's drunk MARKER-1")
    answer = await alex.sees("never your fault", "call")
    assert answer.text.splitlines()[0] == NEUTRAL_FIRST_LINE  # what a lock screen shows
    assert "findahelpline.com" in answer.text
    assert "Anyone who can open this phone" in answer.text and "Delete" in answer.text
    assert "stopped the couple exercise" in answer.text  # and why
    assert answer.text.index("call") < answer.text.index("findahelpline")  # emergency first
    assert [b["text"] for b in answer.buttons] == [
        "Pause all nudges quietly",
        "Continue anyway",
        "Numbers for my country",  # no country known: never another country's numbers
    ]
    await rig.talk.settle()
    assert run_state(rig) == before  # the flow did not move and stored nothing
    with Session(rig.engine) as session:
        assert session.exec(select(FlowRun)).one().remind_at is None  # and will not nudge
    assert sam.inbox() == sam_before
    query = await alex.presses("Continue anyway")  # still the person's choice
    assert "Take your time" in await alex.toast_for(query)  # a toast, not another message
    await alex.sees("you speak first")


@pytest.mark.parametrize(
    ("words", "kind_words", "first_button"),
    [
        ("I've been thinking about ending my life", "If you might act", "Continue where I was"),
        (
            "he takes all my money and checks my phone",
            "kept from money",
            "Pause all nudges quietly",
        ),
        (
            "I'm afraid of what he'll do when he gets home",
            "afraid of a partner",
            "Pause all nudges quietly",
        ),
    ],
)
async def test_each_kind_has_its_own_answer(
    rig: Rig, words: str, kind_words: str, first_button: str
) -> None:
    alex, sam = await pair(rig)
    alex.says(words)
    answer = await alex.sees(kind_words)
    assert answer.text.splitlines()[0] == NEUTRAL_FIRST_LINE
    assert "Thank you for telling me" in answer.text and "not alone" in answer.text
    assert answer.buttons[0]["text"] == first_button
    await rig.talk.settle()
    assert not any(words[:12] in t for t in sam.inbox())
    assert person_row(rig, alex.id).safety_at is not None


async def test_a_sign_in_the_group_is_answered_privately_and_the_group_hears_nothing(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/sotu", group)
    await alex.presses("We're ready", group)
    ask = await alex.sees("Up to five, one per message", in_=group)
    await alex.sees("✍️ Reply here.", in_=group)  # the step's last message
    before_group = len(rig.server.bot_messages(group.id))
    sam.replies(ask, "I'm scared of him MARKER-2")
    await sam.sees("afraid of a partner")
    await rig.talk.settle()
    assert len(rig.server.bot_messages(group.id)) == before_group
    assert not any("MARKER-2" in t for t in alex.inbox())


async def test_unsure_it_asks_with_the_help_already_there(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("i'm a burden")  # a weaker sign, too short for the classifier: asked about
    ask = await alex.sees("are you safe right now?")
    assert ask.text.splitlines()[0] == NEUTRAL_FIRST_LINE
    assert "findahelpline.com" in ask.text  # the help is visible before any answer
    assert [b["text"] for b in ask.buttons] == [
        "I'd like some help",
        "I'm safe, let's go on",
        "Numbers for my country",
    ]
    query = await alex.presses("I'm safe, let's go on")
    assert "Thank you for letting me know" in await alex.toast_for(query)
    await alex.sees("Put it in a sentence")  # back where they were
    assert person_row(rig, alex.id).safety_at is None  # no answer given, nothing planned
    alex.says("no way out")
    await alex.sees("are you safe right now?")
    await alex.presses("I'd like some help")
    await alex.sees("Thank you for telling me")
    assert person_row(rig, alex.id).safety_check_at is not None


async def test_safe_shows_help_for_the_persons_country(rig: Rig) -> None:
    kai = rig.person("Kai", language_code="de-DE")  # Germany, by the language's region
    kai.says("/safe")
    # Kai's Telegram is in German: the help is in German too, never in a second language.
    help_message = await kai.sees("Wenn du Hilfe brauchst (Deutschland)", "112")
    assert "TelefonSeelsorge" in help_message.text and "116 016" in help_message.text
    assert help_message.text.splitlines()[0] == "Eine kurze Nachricht von deinem Coach 🌿"
    # German without a region may be Austria or Switzerland: no German numbers then.
    lea = rig.person("Lea", language_code="de")
    lea.says("/safe")
    unsure = await lea.sees("Notrufnummer deines Landes", "findahelpline.com")
    assert "116 016" not in unsure.text
    await lea.presses("Nummern für mein Land")
    await lea.sees("In welchem Land bist du?")
    await lea.presses("Schweiz")
    swiss = await lea.sees("Wenn du Hilfe brauchst (Schweiz)", "143")
    assert "116 016" not in swiss.text


async def test_pausing_quietly_changes_nothing_the_partner_can_see(rig: Rig) -> None:
    alex, sam = await pair(rig)
    sam.says("/pause")
    await sam.sees("paused")
    await alex.sees("Sam paused the nudges")  # the couple's pause: both are told
    sam.says("/resume")
    await sam.sees("back on")
    await alex.sees("Sam turned the nudges back on")
    await rig.talk.settle()
    sam_before = sam.inbox()
    alex.says("I want to die")
    await alex.sees("If you might act")
    await alex.presses("Pause all nudges quietly")
    await alex.sees("Nothing changes for your partner")
    await rig.talk.settle()
    with Session(rig.engine) as session:
        assert not session.exec(select(Couple)).one().paused  # the couple's state is as before
    assert person_row(rig, alex.id).hushed
    assert sam.inbox() == sam_before
    # The partner's own /pause behaves exactly as before the safety answer.
    sam.says("/pause")
    assert "paused" in (await sam.sees("paused")).text.lower()
    await alex.sees("Sam paused the nudges")
    sam.says("/resume")
    await sam.sees("back on")
    await alex.sees("Sam turned the nudges back on")
    alex.says("/resume")  # lifts the quiet pause, privately
    await alex.sees("Your nudges are back on")
    await rig.talk.settle()
    assert not person_row(rig, alex.id).hushed
    new_for_sam = sam.inbox()[len(sam_before) :]
    assert all(not any(h in t.lower() for h in ("quiet", "safe")) for t in new_for_sam)


async def test_leaving_quietly_tells_the_partner_nothing_until_they_use_the_couple(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    await rig.talk.settle()
    sam_before, group_before = sam.inbox(), len(rig.server.bot_messages(group.id))
    alex.says("he won't let me see my friends")
    await alex.sees("kept from money")
    alex.says("/forget")
    confirm = await alex.sees("Leave quietly")
    assert next(b["text"] for b in confirm.buttons) == "Leave quietly"
    await alex.presses("Leave quietly")
    await alex.sees("Everything about you is deleted")
    await rig.talk.settle()
    assert sam.inbox() == sam_before  # nothing at that moment
    assert len(rig.server.bot_messages(group.id)) == group_before
    with Session(rig.engine) as session:
        assert session.get(Partner, alex.id) is None
    sam.says("/sotu")  # the next time they use a couple feature
    ended = await sam.sees("couple here has ended")
    assert not any(h in ended.text.lower() for h in ("safe", "help", "quiet", "danger"))
    sam.says("/sotu")
    await sam.sees("not paired yet")  # told once


async def test_forget_without_a_safety_answer_is_as_before(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/forget")
    confirm = await alex.sees("everything about you")
    assert [b["text"] for b in confirm.buttons] == ["Yes, delete everything", "Keep my data"]
    await alex.presses("Yes, delete everything")
    await alex.sees("Everything about you is deleted")
    await sam.sees("Your partner has left")


async def test_you_time_stays_private_after_a_safety_answer(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("I'm scared of him")
    await alex.sees("afraid of a partner")
    await alex.presses("Pause all nudges quietly")
    await alex.sees("Nothing changes")
    sam_before = sam.inbox()
    alex.says("/metime")
    await alex.presses("Let's plan it")
    await alex.sees("What will you do")
    alex.says("pottery class")
    await alex.sees("When")
    alex.says("sat 15:00")
    planned = await alex.sees("Planned")
    assert "between us" in planned.text  # not asked whether to tell the partner
    await rig.talk.settle()
    assert sam.inbox() == sam_before


async def test_a_false_alarm_costs_one_message(rig: Rig) -> None:
    """An idiom the rules read as self-harm and the classifier all but rules out is asked
    about ("are you safe right now?"), not answered in full; one press and the step goes on."""
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("my bf's jokes are so bad i want to jump off a cliff lol")
    await alex.sees("are you safe right now?")
    await alex.presses("I'm safe, let's go on")
    await alex.sees("Put it in a sentence")
    alex.says("I feel embarrassed after that talk")
    await alex.sees("What would help")


async def test_start_and_help_say_this_is_not_therapy(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/start")
    assert "not therapy" in (await alex.sees("Hi Alex")).text
    alex.says("/help")
    help_text = (await alex.sees("What I can do")).text
    assert "not therapy" in help_text and "/safe" in help_text


async def export_of(rig: Rig, person: Human) -> dict[str, Any]:
    person.says("/export")
    message = await person.sees("everything I store about you")
    assert message.document is not None, "the export comes as a document"
    _name, content, _mime = rig.server.files[message.document["file_id"]]
    data: dict[str, Any] = json.loads(content)
    data.pop("exported_at")
    return data


@pytest.mark.parametrize(
    ("words", "answer_words"),
    [
        ("i've been thinking about suicide SCAN-MARK", "If you might act"),
        ("he slapped me across the face SCAN-MARK", "never your fault"),
        ("she checks my phone every night SCAN-MARK", "kept from money"),
        ("I'm terrified of him SCAN-MARK", "afraid of a partner"),
        ("honestly I can't take it anymore SCAN-MARK", "are you safe right now"),
    ],
)
async def test_a_scan_of_everything_the_partner_and_group_got_finds_no_change(
    rig: Rig, words: str, answer_words: str
) -> None:
    """Before and after the answer, a quiet pause and a quiet leave: the partner's chat, the
    group, and the partner's /pause and /export are exactly what they would have been."""
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    export_before = await export_of(rig, sam)
    await rig.talk.settle()
    sam_before = sam.inbox()
    group_before = [m.text for m in rig.server.bot_messages(group.id)]

    alex.says(words)
    answer = await alex.sees(answer_words)
    assert answer.text.splitlines()[0] == NEUTRAL_FIRST_LINE and answer.chat_id == alex.id
    if "are you safe" in answer_words:
        await alex.presses("I'd like some help")
        await alex.sees("Thank you for telling me")
    await alex.presses("Pause all nudges quietly")
    await alex.sees("Nothing changes for your partner")
    await rig.talk.settle()
    assert sam.inbox() == sam_before
    assert [m.text for m in rig.server.bot_messages(group.id)] == group_before
    assert await export_of(rig, sam) == export_before  # the partner's view of the couple
    mine = await export_of(rig, alex)
    assert mine["profile"]["nudges_paused_quietly"] is True  # the person's own copy says so

    alex.says("/forget")
    await alex.presses("Leave quietly")
    await alex.sees("Everything about you is deleted")
    await rig.talk.settle()
    sam_now = sam.inbox()
    # Only the two /export replies Sam asked for arrived meanwhile.
    assert [t for t in sam_now if t not in sam_before and "everything I store" not in t] == []
    assert [m.text for m in rig.server.bot_messages(group.id)] == group_before
    everything = " ".join(sam.inbox() + [m.text for m in rig.server.bot_messages(group.id)])
    assert "SCAN-MARK" not in everything
    for hint in HINTS:
        assert hint not in " ".join(set(sam.inbox()) - set(sam_before)).lower()


async def test_a_sign_in_another_language_gets_help_in_that_language(rig: Rig) -> None:
    lena = rig.person("Lena", language_code="de")
    lena.says("/start")
    await lena.sees("Ich bin Us Coach")
    lena.says("Er hat mich gestern wieder geschlagen")
    answer = await lena.sees("Du bist nicht allein", "verletzt oder bedroht")
    assert "Ich habe die Paarübung angehalten" in answer.text
    assert [b["text"] for b in answer.buttons] == [
        "Alle Erinnerungen still pausieren",
        "Trotzdem weitermachen",
        "Nummern für mein Land",  # German, but which country's numbers is not known yet
    ]


async def test_three_words_of_arabizi_get_help_in_arabic(rig: Rig) -> None:
    # Under four words the classifier does not read; Arabic's rules read the consonant
    # skeleton, so Latin letters and digits are read as the Arabic they spell.
    salma = rig.person("Salma", language_code="ar")
    salma.says("/start")
    await salma.sees("Us Coach")
    salma.says("jouzi drebni tani")
    answer = await salma.sees("لست وحدك")
    assert "ليس ذنبك" in answer.text


async def couple_speaking(rig: Rig, lang: str, first: str, second: str) -> tuple[Human, Human]:
    """Two people whose Telegram is in `lang` (no region), paired; the words they see are
    their language's, so only names, links and numbers are looked for."""
    a, b = rig.person(first, language_code=lang), rig.person(second, language_code=lang)
    a.says("/invite")
    code = re.findall(r"start=([\w-]+)", (await a.sees("?start=")).text)[0]
    b.says(f"/start {code}")
    await b.sees(first)
    await a.sees(second)
    for person in (a, b):
        await person.sees("📍")  # the time zone's location key
        await person.sees("1/3")
    return a, b


@pytest.mark.parametrize(
    ("lang", "zone", "words", "numbers", "country_name", "language_words"),
    [
        (
            "de",
            "Europe/Vienna",
            "Mein Mann schlägt mich",
            ("112", "142", "0800 222 555"),
            "Österreich",
            "Danke, dass du es mir erzählst",
        ),
        (
            "es",
            "America/Mexico_City",
            "Mi esposo me pega",
            ("911", "800 911 2000", "079"),
            "México",
            "Gracias por contármelo",
        ),
        (
            "ar",
            "Africa/Cairo",
            "زوجي يضربني",
            ("122", "0800 888 0700", "15115"),
            "مصر",
            "المجلس القومي للمرأة",
        ),
    ],
)
async def test_a_person_gets_their_own_countrys_numbers_in_their_own_language(
    rig: Rig,
    lang: str,
    zone: str,
    words: str,
    numbers: tuple[str, ...],
    country_name: str,
    language_words: str,
) -> None:
    """Vienna, Mexico City, Cairo: the country comes from the couple's timezone, the words
    from the person's language, and no other country's number appears."""
    me, partner = await couple_speaking(rig, lang, "Mira", "Noor")
    me.says(f"/timezone {zone}")
    city = get_timezone_location(zone, locale=lang, return_city=True)  # "Wien", "القاهرة"
    await me.sees(city)
    await partner.sees(city)
    me.says(words)
    answer = await me.sees(*numbers)
    assert language_words in answer.text
    for foreign in ("988", "116 123", "0808 2000 247", "1-800-799-7233"):
        assert foreign not in answer.text
    me.says("/safe")
    shown = await me.sees(country_name, numbers[0])
    assert all(n in shown.text for n in numbers)
    assert partner.inbox()[-1:] != [answer.text]  # nothing of it reached the partner


async def test_without_a_country_the_bot_asks_and_then_shows_that_countrys_numbers(
    rig: Rig,
) -> None:
    alex, _sam = await pair(rig)
    alex.says("/safe")
    general = await alex.sees("your local emergency number", "findahelpline.com")
    assert not re.search(r"\b(911|999|988|112)\b", general.text)  # nobody else's numbers
    await alex.presses("Numbers for my country")
    await alex.sees("Which country are you in?")
    await alex.presses("Ireland")
    irish = await alex.sees("If you need help (Ireland)", "112")
    assert "116 123" in irish.text  # Samaritans Ireland
    alex.says("/safe")
    await alex.sees("(Ireland)")  # remembered; and it can be changed
    await alex.presses("Another country")
    await alex.sees("Which country are you in?")
    await alex.presses("Canada")
    await alex.sees("If you need help (Canada)", "911")


async def test_a_forged_country_button_changes_nothing(rig: Rig) -> None:
    """Bad input: a country we have no entry for, or made-up data, gets a toast and no
    number of anyone's; nothing is stored."""
    from bot.words.buttons import SafetyChoice

    alex, _sam = await pair(rig)
    for data in (SafetyChoice("country.ZZ").pack(), SafetyChoice("country.").pack()):
        query = alex.forges(data)
        assert "button" in (await alex.toast_for(query)).lower()
    assert person_row(rig, alex.id).country is None
    alex.says("/safe")
    await alex.sees("your local emergency number")
