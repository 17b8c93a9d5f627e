"""Each person in their own grammatical form: the choice (asked once, in the person's own
chat, only in Spanish and Arabic), the templates' g()/pg()/of(), and `flows check`'s form
tables and glossaries. tests/words/test_forms_couple.py walks a woman and a man through the
flows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine.check_words import forms, glossary
from bot.storage.tables import PARTNERS
from bot.words.languages import Voice, both
from bot.words.texts import Renderer
from tests.helpers import Rig, copied, pair, problems_of


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def edit(path: Path, old: str = "", new: str = "", *, add: str = "") -> None:
    """A translator's slip planted in a copied template: `old` replaced, or a line added."""
    text = path.read_text(encoding="utf-8")
    path.write_text((text.replace(old, new) if old else text) + add, encoding="utf-8")


def test_a_template_speaks_to_and_about_each_person_in_their_form(tmp_path: Path) -> None:
    write(tmp_path / "en" / "common" / "ready.j2", "Ready, {{ name }}? {{ other }} listened.")
    write(
        tmp_path / "es" / "common" / "ready.j2",
        '¿{{ g("Listo", "Lista", "Todo a punto") }}? '
        '{{ pg("Él", "Ella", "Tu pareja") }} te ha {{ g("escuchado", "escuchada", "oído") }}; '
        '{{ other }} está {{ of(other, "atento", "atenta", "con atención") }}.',
    )
    words = Renderer(tmp_path).render("common/ready", name="Ana", other="Sam")
    assert words.in_("en") == "Ready, Ana? Sam listened."  # English has no forms
    couple = (("Ana", "f"), ("Sam", "m"))
    assert words.in_(Voice("es", "f", "m", couple)) == (
        "¿Lista? Él te ha escuchada; Sam está atento."
    )
    assert words.in_(Voice("es", "m", "f", (("Ana", "m"), ("Sam", "f")))) == (
        "¿Listo? Ella te ha escuchado; Sam está atenta."
    )
    # Not chosen yet, or chosen "without gender": the neutral wording.
    neutral = "¿Todo a punto? Tu pareja te ha oído; Sam está con atención."
    assert words.in_(Voice("es")) == neutral
    assert words.in_(Voice("es", "n", "", (("Ana", "n"), ("Sam", "")))) == neutral
    # Two partners with one name: nobody can tell whom `of` means, so it is neutral.
    assert "con atención" in words.in_(Voice("es", "f", "m", (("Sam", "f"), ("Sam", "m"))))


def test_a_couples_plural_follows_both_choices() -> None:
    assert both("f", "f") == "f"
    assert both("f", "m") == "m"  # Spanish and Arabic: a mixed pair is grammatically masculine
    assert both("m", "m") == "m"
    assert both("f", None) == "n"  # until both chose
    assert both("n", "f") == "n"


def test_flows_check_finds_a_gendered_word_without_the_readers_form(tmp_path: Path) -> None:
    flows, prompts = copied(tmp_path)
    write(
        prompts / "es" / "FORMS.yaml", "masculine: [listo, querido]\nfeminine: [lista, querida]\n"
    )
    edit(prompts / "es" / "letgo" / "kept_private.j2", add="\nCuando estés listo.\n")
    edit(prompts / "es" / "letgo" / "preview.j2", add='\n{{ g("Querido", "Querida", "Hola") }}.\n')
    found = problems_of(flows, prompts)
    assert ("prompts/es/letgo/kept_private.j2", "gender", False) in found
    assert not {p for p in found if p[0] == "prompts/es/letgo/preview.j2"}  # inside g(): fine


def test_flows_check_holds_each_language_to_its_glossary(tmp_path: Path) -> None:
    flows, prompts = copied(tmp_path)
    write(
        prompts / "de" / "GLOSSARY.md",
        "# Glossar\n\n| English | de | never |\n|---|---|---|\n"
        "| Let go | Sich öffnen | Loslassen |\n\nNotes.\n",
    )
    write(prompts / "de" / "FORMS.yaml", "never: ['\\bjede:r\\b', '\\ber oder sie\\b']\n")
    terms = glossary(prompts, "de")
    assert [(t.english, t.ours, t.never) for t in terms] == [
        ("Let go", "Sich öffnen", ("Loslassen",))
    ]
    assert forms(prompts, "de").never
    edit(prompts / "de" / "letgo" / "start_small.j2", "Sich öffnen", "Loslassen")
    edit(prompts / "de" / "sotu" / "welcome.j2", add="\nJede:r spricht, er oder sie hört zu.\n")
    found = problems_of(flows, prompts)
    assert ("prompts/de/letgo/start_small.j2", "glossary", False) in found
    assert ("prompts/de/sotu/welcome.j2", "form", False) in found


async def test_the_form_is_asked_once_in_spanish_and_arabic_and_never_in_english(
    rig: Rig,
) -> None:
    ana = rig.person("Ana", language_code="es-MX")
    ana.says("/start")
    await ana.sees("Soy Us Coach")
    asked = await ana.sees("¿Cómo quieres que te hable?")
    await ana.presses(asked.buttons[1]["text"])  # as a woman
    await ana.sees("✅")
    with rig.engine.connect() as conn:
        form = conn.execute(select(PARTNERS.c.form).where(PARTNERS.c.id == ana.user.id)).scalar()
    assert form == "f"
    ana.says("/start")
    await ana.sees("Soy Us Coach")
    await rig.talk.settle()
    assert not rig.talk.unread(ana.private)  # asked once is enough
    ana.says("/language")
    await ana.sees("¿En qué idioma te hablo?")
    again = await ana.sees("¿Cómo quieres que te hable?")  # /language shows it again
    assert len(again.buttons) == 3

    alex, _sam = await pair(rig)  # English: never asked
    alex.says("/language")
    await alex.sees("Which language")
    alex.says("/language es")
    await alex.sees("te hablaré en español")
    await alex.sees("¿Cómo quieres que te hable?")  # a first gendered language asks


async def test_a_forged_form_changes_nothing(rig: Rig) -> None:
    omar = rig.person("Omar", language_code="ar")
    omar.says("/start")
    await omar.sees("أنا Us Coach")
    await omar.sees("بأيّ صيغة أخاطبك")
    assert await omar.toast_for(omar.forges("form:x"))  # "that button doesn't work"
    with rig.engine.connect() as conn:
        form = conn.execute(select(PARTNERS.c.form).where(PARTNERS.c.id == omar.user.id)).scalar()
    assert form is None


@pytest.mark.parametrize(
    ("form", "said", "not_said"), [("f", "sola", "solo"), ("m", "solo", "sola")]
)
async def test_a_safety_answer_speaks_to_a_woman_and_a_man_in_their_own_form(
    rig: Rig, form: str, said: str, not_said: str
) -> None:
    """Spanish is written without gender wherever that reads naturally; where it does not
    (the safety answers' "you are not alone"), the person's form is used."""
    ana = rig.person("Ana", language_code="es")
    ana.says("/start")
    await ana.sees("Soy Us Coach")
    asked = await ana.sees("¿Cómo quieres que te hable?")
    rig.server.user_presses(ana.user, asked, f"form:{form}")
    await ana.sees("✅")
    ana.says("Mi pareja me pegó anoche otra vez")
    answer = await ana.sees("Gracias por contármelo")
    assert f"No estás {said}" in answer.text and f"No estás {not_said}" not in answer.text
