"""Languages: which one a person hears, plurals and dates by Babel, right-to-left isolation,
the menus per language, /language, and `flows check` on every translation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from jinja2 import ChainableUndefined

from bot import PROJECT_ROOT
from bot.coaching import practices
from bot.engine.check import check_flows
from bot.words.languages import pick
from bot.words.texts import FSI, PDI, Renderer
from tests.helpers import Rig, copied, pair, problems_of, run_cli, until

PROMPTS = PROJECT_ROOT / "prompts"


@pytest.mark.parametrize(
    ("choice", "telegram", "heard"),
    [
        (None, "de-AT", "de"),
        (None, "es_MX", "es"),
        (None, "ar", "ar"),
        (None, "fr", "en"),  # a language we do not ship: English
        (None, None, "en"),
        ("es", "de", "es"),  # a /language choice beats Telegram's
        ("xx", "de", "de"),  # a choice we no longer ship is ignored
    ],
)
def test_which_language_a_person_hears(
    choice: str | None, telegram: str | None, heard: str
) -> None:
    assert pick(choice, telegram) == heard


@pytest.mark.parametrize(
    ("lang", "hours", "said"),
    [
        ("en", 1, "1 hour."),
        ("en", 72, "72 hours."),
        ("de", 1, "1 Stunde ab"),
        ("de", 72, "72 Stunden ab"),
        ("es", 1, "1 hora."),
        ("es", 1_000_000, "1000000 horas."),  # Spanish "many"
        ("ar", 0, f"{FSI}0{PDI} ساعة"),  # zero
        ("ar", 1, "ساعة واحدة"),  # one
        ("ar", 2, "ساعتين"),  # two
        ("ar", 3, f"{FSI}3{PDI} ساعات"),  # few
        ("ar", 11, f"{FSI}11{PDI} ساعة"),  # many
        ("ar", 100, f"{FSI}100{PDI} ساعة"),  # other
    ],
)
def test_plurals_follow_each_languages_cldr_rules(lang: str, hours: int, said: str) -> None:
    text = Renderer(PROMPTS).render_in(lang, "common/invite", link="L", code="c", hours=hours)
    assert said in text, text


def test_days_and_times_are_written_the_local_way() -> None:
    renderer = Renderer(PROMPTS)
    at = datetime(2026, 11, 29, 19, 30)  # a Sunday
    said = {
        lang: renderer.render_in(lang, "common/snoozed", by="Sam", at=at)
        for lang in ("en", "de", "es", "ar")
    }
    assert "Sunday 19:30" in said["en"]
    assert "Sonntag 19:30" in said["de"]
    assert "domingo 19:30" in said["es"]
    assert "الأحد 19:30" in said["ar"]


def test_right_to_left_isolates_names_and_numbers_and_nothing_else() -> None:
    renderer = Renderer(PROMPTS)
    arabic = renderer.render_in("ar", "common/paired", partner="Sam")
    assert f"{FSI}Sam{PDI}" in arabic
    assert arabic.count(FSI) == arabic.count(PDI) == 1  # only the name
    # No stray marks anywhere in a left-to-right language, whatever the values.
    for lang in ("en", "de", "es"):
        lenient = renderer.environment(lang).overlay(undefined=ChainableUndefined)
        for path in sorted((PROMPTS / lang / "common").glob("*.j2")):
            text = lenient.get_template(f"common/{path.name}").render(
                partner="Sam", name="Alex", days=3, count=2, hours=72, minutes=20
            )
            assert FSI not in text and PDI not in text, (lang, path.name)


def test_words_said_for_another_chat_keep_their_values() -> None:
    renderer = Renderer(PROMPTS)
    words = renderer.render("common/partner_set_timezone", partner="Sam", timezone="Asia/Tokyo")
    assert words.in_("en") == "Sam set your timezone to <b>Asia/Tokyo</b>."
    assert words.in_("de") == "Sam hat eure Zeitzone auf <b>Asia/Tokyo</b> gestellt."
    assert words.in_("es") == "Sam fijó la zona horaria de ustedes en <b>Asia/Tokyo</b>."


# ----- flows check, per language --------------------------------------------------------


def test_the_shipped_languages_are_complete_and_current() -> None:
    _flows, found = check_flows(PROJECT_ROOT / "flows", PROMPTS, practices.names())
    assert found == []  # not even a warning: nothing missing, nothing stale


def test_flows_check_finds_what_a_translator_can_get_wrong(tmp_path: Path) -> None:
    flows, prompts = copied(tmp_path)
    de, ar = prompts / "de", prompts / "ar"
    (de / "common" / "sorry.j2").unlink()  # missing: English answers meanwhile
    (de / "common" / "made_up.j2").write_text("Hallo")  # extra
    (de / "common" / "resumed.j2").write_text("▶️ {{ secret }} ist wieder an.")  # a new variable
    invite = (ar / "common" / "invite.j2").read_text()
    (ar / "common" / "invite.j2").write_text(invite.replace('two="ساعتين", ', ""))
    (de / "common" / "paused.j2").write_text("x" * 5000)
    labels = (de / "sotu" / "labels.yaml").read_text()
    (de / "sotu" / "labels.yaml").write_text(
        labels.replace("    agree: Ja, dieses\n", "").replace(
            "  who_first:", "  nowhere:\n    x: y\n  who_first:"
        )
    )
    (prompts / "sotu").mkdir()  # the old layout: a flow's words outside prompts/en/
    found = problems_of(flows, prompts)
    assert ("prompts/de", "missing-translation", True) in found
    assert ("prompts/de", "extra-template", False) in found
    assert ("prompts/de/common/resumed.j2", "variables", False) in found
    assert ("prompts/ar/common/invite.j2", "plural", False) in found
    assert ("prompts/de/common/paused.j2", "too-long", False) in found
    assert ("prompts/de/sotu/labels.yaml", "missing-translation", True) in found
    assert ("prompts/de/sotu/labels.yaml", "extra-label", False) in found
    assert ("prompts/sotu", "not-a-language", False) in found


def test_a_changed_english_text_marks_its_translations_stale_until_stamped(
    tmp_path: Path,
) -> None:
    flows, prompts = copied(tmp_path)
    english = prompts / "en" / "common" / "resumed.j2"
    english.write_text("▶️ Nudges are on again.")
    stale = {f for f, kind, warning in problems_of(flows, prompts) if kind == "stale"}
    assert stale == {f"prompts/{lang}/common/resumed.j2" for lang in ("de", "es", "ar")}
    result = run_cli("flows", "check", "--flows", str(flows), "--prompts", str(prompts))
    assert result.returncode == 0, result.stdout  # stale is a warning: the old words still work
    assert "warning: made from an older English common/resumed.j2" in result.stdout
    assert "4 languages OK: en, ar, de, es; 3 warning(s)" in result.stdout

    env = {"FLOWS_DIR": str(flows), "PROMPTS_DIR": str(prompts)}
    stamped = run_cli("flows", "stamp", "de", "common/resumed.j2", env=env)
    assert "stamped prompts/de/common/resumed.j2" in stamped.stdout, stamped.stderr
    stale = {f for f, kind, warning in problems_of(flows, prompts) if kind == "stale"}
    assert stale == {f"prompts/{lang}/common/resumed.j2" for lang in ("es", "ar")}


def test_flows_check_fails_on_a_broken_translation(tmp_path: Path) -> None:
    flows, prompts = copied(tmp_path)
    (prompts / "es" / "common" / "paused.j2").write_text("{% if %}")
    result = run_cli("flows", "check", "--flows", str(flows), "--prompts", str(prompts))
    assert result.returncode == 1
    assert "prompts/es/common/paused.j2" in result.stdout


# ----- end to end -----------------------------------------------------------------------


async def test_the_menus_are_published_in_every_language(rig: Rig) -> None:
    await rig.talk.settle()
    menus = rig.server.commands
    wanted = ("all_private_chats", "all_private_chats:de", "all_group_chats:ar")
    # Published beside the first conversations (bot/telegram/main.py), so waited for.
    await until(lambda: all(scope in menus for scope in wanted), what="the menus")
    private = {c["command"]: c["description"] for c in menus["all_private_chats"]}
    german = {c["command"]: c["description"] for c in menus["all_private_chats:de"]}
    arabic = {c["command"]: c["description"] for c in menus["all_group_chats:ar"]}
    assert private["forget"] == "Delete everything about you"  # English: the default
    assert german["forget"] == "Alles über dich löschen"
    assert german["sotu"] == "Euer wöchentliches Paargespräch"  # a flow's own description
    assert set(german) == set(private)  # the same commands, in another language
    assert arabic["link"] == "جعل هذه المجموعة مساحتكما المشتركة"
    assert {c["command"] for c in menus["all_private_chats:es"]} == set(private)


async def test_language_is_chosen_per_person_and_button_data_stays_the_same(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/language")
    menu = await alex.sees("Which language should I speak with you?")
    assert [b["text"] for b in menu.buttons] == [
        "English",
        "Deutsch",
        "Español",
        "العربية",
        "Use my Telegram language",
    ]
    data = [b["callback_data"] for b in menu.buttons]
    await alex.presses("Deutsch")
    await alex.sees("Ich spreche Deutsch mit dir")
    alex.says("/language")
    again = await alex.sees("Welche Sprache soll ich mit dir sprechen?")
    assert [b["callback_data"] for b in again.buttons] == data  # words change, data never
    assert again.buttons[-1]["text"] == "Meine Telegram-Sprache"
    alex.says("/help")
    await alex.sees("Was ich kann", "Alles über dich löschen")
    sam.says("/help")
    await sam.sees("What I can do")  # Sam keeps English
    alex.says("/language es")
    await alex.sees("te hablaré en español")
    alex.says("/language auto")
    await alex.sees("I'll follow your Telegram language")
    alex.says("/language klingon")
    await alex.sees('I don\'t speak "klingon" yet')


async def test_a_stranger_cannot_change_a_groups_language(rig: Rig) -> None:
    alex, sam = await pair(rig)
    stranger = rig.person("Eve")
    group = rig.talk.group("Us", alex, sam, stranger)
    rig.server.add_bot_to_group(group, alex.user)
    await alex.sees("/link", in_=group)
    alex.says("/link", group)
    await alex.sees("shared space", in_=group)
    stranger.says("/language de", group)
    await stranger.sees("Only the couple whose shared space this is", in_=group)
    forged = stranger.forges("lang:us:de", group)
    assert await stranger.toast_for(forged)
    alex.says("/agreements", group)
    await alex.sees("No agreements yet", in_=group)  # still English


async def test_someone_whose_language_we_do_not_speak_hears_english_and_where_help_is(
    rig: Rig,
) -> None:
    claire = rig.person("Claire", language_code="fr")
    claire.says("/start")
    await claire.sees("I'm Us Coach")
    await claire.sees("I don't speak your language yet", "/safe")


async def test_an_arabic_speaker_reads_names_isolated_in_their_sentences(rig: Rig) -> None:
    layla = rig.person("Layla", language_code="ar")
    layla.says("/start")
    welcome = await layla.sees("أنا Us Coach")
    assert f"مرحبًا {FSI}Layla{PDI}" in welcome.text


def test_the_trend_chart_and_the_help_lines_speak_the_language_too() -> None:
    from bot.coaching.charts import trend_chart
    from bot.core.outbox import Outgoing
    from bot.core.way_out import said
    from bot.safety.helplines import helplines_for
    from bot.words.languages import Voice

    renderer = Renderer(PROMPTS)
    chart = Outgoing(1, "x", chart=({},), chart_labels=renderer.label("common/trend_chart_labels"))
    arabic = said(chart, Voice("ar")).chart_labels
    assert isinstance(arabic, str) and arabic.splitlines()[0] == "وقفاتك مع النفس"
    german = said(chart, Voice("de")).chart_labels
    assert isinstance(german, str) and german.splitlines()[4] == "Autonomie"
    rows = [{"spectrum": 0.1, "autonomy": 3, "competence": 4, "relatedness": 2}] * 2
    assert trend_chart(rows, arabic.splitlines()) != trend_chart(rows)  # drawn in Arabic
    # Help lines are a country's, whatever the language: an Egyptian gets Egypt's, named in
    # their own language by the line itself; without a country, only what works everywhere.
    assert helplines_for("EG").emergency == "122"
    assert helplines_for(None).lines == ["https://findahelpline.com"]


def test_names_in_a_list_are_joined_the_local_way() -> None:
    from bot.words.text import names_list

    said = names_list(["Alex", "Sam"])
    assert (said.in_("en"), said.in_("de"), said.in_("es")) == (
        "Alex and Sam",
        "Alex und Sam",
        "Alex y Sam",
    )


def test_flows_check_flags_english_day_names_in_another_language(tmp_path: Path) -> None:
    """An example people copy ("sat 15:00") is in their own words in each language."""
    flows, prompts = copied(tmp_path)
    when = prompts / "de" / "metime" / "when.j2"
    when.write_text(when.read_text(encoding="utf-8").replace("Sa 15:00", "sat 15:00"))
    commands = prompts / "es" / "commands.yaml"
    commands.write_text(commands.read_text(encoding="utf-8").replace("domingo", "Sunday"))
    found = problems_of(flows, prompts)
    assert ("prompts/de/metime/when.j2", "english-day", False) in found
    assert ("prompts/es/commands.yaml", "english-day", False) in found


def test_a_text_is_said_in_a_voice_never_glued_or_formatted_as_english() -> None:
    """A message stays a value until the way out says it to its reader: `+`, an f-string
    or str() on it would quietly say it in English to everybody, so each is a TypeError."""
    from bot.words.text import Text

    welcome = Renderer(PROMPTS).render("common/welcome", name="Alex", partner=None)
    assert isinstance(welcome, Text) and not isinstance(welcome, str)
    for glued in (
        lambda: welcome + "!",
        lambda: "!" + welcome,
        lambda: f"{welcome}",
        lambda: str(welcome),
    ):
        with pytest.raises(TypeError, match="in_"):
            glued()
    assert "I'm Us Coach" in welcome.in_("en") and "Ich bin Us Coach" in welcome.in_("de")


def test_the_outbox_stores_what_was_said_and_never_says_it_itself(tmp_path: Path) -> None:
    from bot.core.outbox import Outgoing
    from bot.core.way_out import WayOut
    from bot.storage.db import Database, make_engine, upgrade, utcnow
    from bot.storage.outbox import Outbox

    engine = make_engine(f"sqlite:///{tmp_path / 'said.db'}")
    upgrade(engine)
    db = Database(engine)
    outbox = Outbox(db)
    text = Renderer(PROMPTS).render("common/welcome", name="Alex", partner=None)
    with db.unit() as conn, pytest.raises(TypeError, match="already said"):
        outbox.put(conn, [Outgoing(42, text)])
    with db.unit() as conn:
        (queued,) = WayOut(outbox).put(conn, [Outgoing(42, text)])
    assert isinstance(queued.message.text, str) and "I'm Us Coach" in queued.message.text
    (stored,) = outbox.claim_due(utcnow() + outbox.lease * 2)  # after the lease runs out
    assert stored.message.text == queued.message.text
