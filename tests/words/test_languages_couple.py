"""A couple in two languages: Alex's Telegram is in German (de-AT), Sam's in Spanish. They go
through every flow, each hearing their own language in private, and the group hears the
couple's language (the first partner's, German, until /language in the group changes it)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from bot.emulator import Human
from bot.storage.db import utcnow
from bot.storage.tables import METIMES
from tests.helpers import Rig, time_passes_for_waits

# Words a message in each language is all but sure to use, and English's, which none may.
MARKERS = {
    "de": {
        "du",
        "dich",
        "dir",
        "dein",
        "deine",
        "ihr",
        "euch",
        "euer",
        "eure",
        "und",
        "ist",
        "nicht",
        "der",
        "die",
        "das",
        "mit",
        "wir",
        "zu",
        "ein",
        "eine",
        "für",
        "ich",
        "es",
        "auf",
        "im",
        "den",
        "dem",
        "noch",
        "schon",
        "jetzt",
        "von",
        "hat",
    },
    "es": {
        "tu",
        "te",
        "de",
        "que",
        "y",
        "los",
        "las",
        "su",
        "sus",
        "la",
        "el",
        "para",
        "con",
        "en",
        "es",
        "lo",
        "un",
        "una",
        "qué",
        "ti",
        "se",
        "no",
        "al",
        "a",
        "ya",
        "por",
        "más",
        "me",
        "mi",
        "está",
        "ustedes",
        "esta",
    },
}
ENGLISH = {
    "the",
    "you",
    "your",
    "and",
    "with",
    "what",
    "this",
    "that",
    "it's",
    "don't",
    "we're",
    "i'll",
    "when",
    "for",
}
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def assert_heard_in(lang: str, texts: list[str], typed: set[str]) -> None:
    """Every message is in `lang`: none uses English's common words, each uses its own.
    What the partners typed themselves (in their languages) is taken out first."""
    assert texts
    for text in texts:
        for words in typed:
            text = text.replace(words, " ")
        found = {w.lower() for w in WORD.findall(text)}
        if len(found) < 3:  # "Geschickt. 💛": too short to tell
            continue
        assert not found & ENGLISH, (lang, sorted(found & ENGLISH), text)
        if len(found) >= 6:  # a sentence or more: its own small words show
            assert found & MARKERS[lang], (lang, text)


def labels_of(message: object) -> list[str]:
    return [b["text"] for b in message.buttons]  # type: ignore[attr-defined]


def plans_due(rig: Rig, hours_ago: float) -> None:
    """Every planned "you" time and time together comes now (the clock tests wait for the
    real day: tests/coaching/test_nudges.py)."""
    with rig.engine.begin() as conn:
        conn.execute(update(METIMES).values(at=utcnow() - timedelta(hours=hours_ago)))


async def pair_in_two_languages(rig: Rig) -> tuple[Human, Human]:
    alex = rig.person("Alex", language_code="de-AT")
    sam = rig.person("Sam", language_code="es")
    alex.says("/start")
    await alex.sees("Ich bin Us Coach", "Nächster Schritt")
    alex.says("/invite")
    invite = await alex.sees("Einladungslink")
    assert labels_of(invite) == ["Einladung öffnen"]
    code = invite.text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    await sam.sees("Alex y tú ya son pareja aquí")
    await alex.sees("Du und Sam seid jetzt hier ein Paar")
    await sam.sees("Compartir mi ubicación")
    await alex.sees("Standort teilen")
    await sam.sees("1/3 ·")
    await alex.sees("1/3 ·")
    return alex, sam


async def test_a_german_and_a_spanish_partner_go_through_every_flow(rig: Rig) -> None:
    alex, sam = await pair_in_two_languages(rig)
    typed: set[str] = set()

    def alex_says(text: str) -> None:
        typed.add(text)
        alex.says(text)

    def sam_says(text: str) -> None:
        typed.add(text)
        sam.says(text)

    # Repair, in private chats (no group yet): every step in each one's own language.
    sam.says("/repair")
    await sam.sees("Reparar después de una pelea", "Cinco pasos cortos")
    await alex.sees("Versöhnen nach einem Streit", "Fünf kurze Schritte")
    await alex.presses("Wir sind beide ruhig genug")
    await sam.presses("Ya estamos en calma")
    await sam.sees("Sam, ¿qué sentiste durante la pelea?")
    await sam.presses("Dolor")
    await sam.presses("Eso es todo")
    await alex.sees("Alex, jetzt du")
    await alex.presses("Missverstanden")
    await alex.presses("Überrollt")
    await alex.presses("Das ist alles")
    # Each reads both feelings in their own words, whoever pressed them.
    await alex.sees("hat sich Sam verletzt gefühlt", "missverstanden und überrollt")
    await sam.sees("Sam sintió dolor", "incomprensión y desborde emocional")
    await sam.sees("2. Lo que viviste")
    await alex.sees("2. Was du erlebt hast")
    # Sam answers each step first and is told, in Spanish, that Alex is still writing.
    sam_says("Vi que llegaste tarde y me sentí sola")
    await sam.sees("Esperando a Alex")
    alex_says("Ich habe gesehen, dass du traurig warst")
    await alex.sees("Zwei Wirklichkeiten, beide echt", "llegaste tarde")
    await sam.sees("Dos realidades", "traurig warst")
    # Alex sums up Sam's side in German, Sam says it landed; then the other way round.
    await alex.sees("Alex, fass zusammen, wie Sam es erlebt hat", "Sam wird es lesen")
    alex_says("Du hast es also so erlebt, dass ich dich vergessen habe")
    await sam.sees("Du hast es also so erlebt")
    await sam.sees("Sam, ¿sientes que Alex te entendió?")
    await sam.presses("Sí, me entendió")
    await sam.sees("Ahora cambiamos los papeles", "Sam, resume cómo vio Alex")
    sam_says("Entonces, para ti fue un día muy largo")
    await alex.sees("Entonces, para ti fue")
    await alex.sees("Alex, fühlst du dich verstanden?")
    await alex.presses("Ja, ich fühle mich verstanden")
    await sam.sees("el corazón de una reparación")
    await alex.sees("das Herzstück einer Versöhnung")
    await sam.sees("3. Lo que tocó por dentro")
    await alex.sees("3. Was es berührt hat")
    sam_says("Me recordó a cuando era pequeña")
    await sam.sees("Esperando a Alex")
    alex_says("Es erinnerte mich an die Zeit bei meinen Eltern")
    await alex.sees("4. Dein Anteil")
    await sam.sees("4. Tu parte")
    await sam.presses("El cansancio")
    await sam.sees("Esperando a Alex")
    await alex.presses("Ich war gestresst")
    await sam.sees("¿Y de qué te arrepientes?")
    await alex.sees("Und was bereust du?")
    sam_says("Me equivoqué en gritar")
    await sam.sees("Esperando a Alex")
    alex_says("Es tut mir leid, dass ich zu spät kam")
    await sam.sees("Esto es lo que escribió cada quien", "bei meinen Eltern", "Ich war gestresst")
    await alex.sees("Das habt ihr jeweils geschrieben", "El cansancio")
    await alex.sees("nimmst du die Entschuldigung von Sam an?")
    await alex.presses("Ich nehme die Entschuldigung an")
    await sam.sees("Alex: Acepto la disculpa", "¿aceptas la disculpa de Alex?")
    await sam.presses("Necesito más tiempo")
    # Not ready: both read "what would help?", and Alex hears Sam's answer.
    await sam.sees("Sam: Necesito más tiempo", "¿Qué te ayudaría")
    await alex.sees("Sam: Ich brauche noch Zeit", "Was würde dir helfen")
    sam_says("Un paseo juntos mañana")
    await alex.sees("Un paseo juntos mañana")
    await alex.sees("5. Nächstes Mal")
    await sam.sees("5. La próxima vez")
    sam_says("Pediré una pausa antes de alzar la voz")
    await sam.sees("Esperando a Alex")
    alex_says("Ich sage früher Bescheid")
    await sam.sees("No todo se cura en una noche")
    await alex.sees("Nicht alles heilt an einem Abend")

    # Let go (Sam) hands off to Lean in (Alex): the chosen support in Alex's words.
    sam.says("/letgo")
    await sam.sees("Dejarte apoyar", "Empieza por algo pequeño")
    await sam.presses("Tengo algo")
    await sam.sees("Dilo en una o dos frases")
    sam_says("Me siento agobiada por el trabajo")
    await sam.sees("¿Qué te ayudaría más de Alex")
    await sam.presses("Solo escucha")
    await sam.sees("Esto es exactamente lo que recibirá Alex", "Le gustaría: Solo escucha")
    await sam.presses("Enviarlo")
    await sam.sees("Enviado a Alex")
    base = await alex.sees(
        "Zuwenden", "Sam hat etwas mit dir geteilt", "Sam wünscht sich: Einfach zuhören"
    )
    assert "hör zu" in base.text and "Wann kannst du da sein?" in base.text
    assert labels_of(base)[:2] == ["Ich kümmere mich 💛", "Später am Tag"]
    await alex.presses("Ich kümmere mich 💛")
    await sam.sees("Alex ha leído lo que compartiste y ya va a tu encuentro")
    await alex.sees("In ein paar Stunden frage ich Sam")
    time_passes_for_waits(rig.engine)
    await sam.sees("¿Cómo te sentiste?")
    await sam.presses("Me ayudó")
    await sam.sees("Gracias. Ya se lo dije a Alex")
    await alex.sees("Sam sagt, deine Unterstützung hat geholfen")

    # An appreciation from Alex reaches Sam in Spanish around Alex's German words.
    alex.says("/appreciate")
    await alex.sees("Ein oder zwei Sätze")
    alex_says("dein Lachen am Sonntag")
    await alex.sees("Genau das bekommt Sam", "dein Lachen am Sonntag")
    await alex.presses("Abschicken")
    await alex.sees("Geschickt", "Zuneigung weiter wachsen")
    await sam.sees("Alex te dice lo que valora de ti", "dein Lachen am Sonntag")
    await sam.presses("Gracias 💛")
    await alex.sees("Sam hat deine Wertschätzung gelesen und sagt danke")

    # Sam's private check-in.
    sam.says("/checkin")
    await sam.sees("Dos o tres minutos, solo para ti")
    await sam.presses("Vamos")
    for answer in (
        "Se lo cuento y pido lo que necesito",
        "Lo decidimos en pareja",
        "Las conservo, y algunas las compartimos",
        "Me importa, pero sus emociones son suyas",
    ):
        await sam.sees("/8")
        await sam.presses(answer)
    for rating in ("4", "4", "4"):
        await sam.sees("/8")
        await sam.presses(rating)
    await sam.sees("8/8", "puedo decir lo que pienso sin miedo")
    await sam.presses("Siempre")
    await sam.sees("Estás en el centro saludable")
    await sam.sees("2/3 · Tres necesidades")  # the second onboarding card, in Spanish
    await sam.presses("Terminar")
    await sam.sees("Gracias por hacer este check-in contigo")

    # "You" time (Alex), reminded and reviewed; Sam is told in Spanish, with the day in Spanish.
    alex.says("/metime")
    await alex.sees("Zeit für dich", "Luft zwischen den Scheiten")
    await alex.presses("Planen wir es")
    await alex.sees("Was wirst du machen?")
    alex_says("Klettern mit Jo")
    await alex.sees("Wann?")
    alex.says("sat 15:00")
    await alex.sees("Soll ich Sam davon erzählen")
    await alex.presses("Ja, sag es")
    await alex.sees("Geplant", "Klettern mit Jo", "Samstag 15:00")
    await sam.sees("Alex está planeando tiempo propio", "Klettern mit Jo", "sábado 15:00")

    # Time together (Sam): a suggested idea is words, said to each in their own language.
    sam.says("/together")
    await sam.sees("Tiempo en pareja", "ritual")
    await sam.presses("Una cita")
    await sam.sees("¿Cuánta energía tienen")
    await sam.presses("Algo tranquilo, poca energía")
    await sam.sees("¿Y el presupuesto?")
    await sam.presses("Un poco")  # (Lean in's "A bit" is "Un poco" too: wait for this one)
    ideas = await sam.sees("Algunas ideas")
    assert labels_of(ideas)[:3] == [
        "Salir por café y pastel",
        "Una noche de juegos de mesa",
        "Un picnic en el parque",
    ]
    await sam.presses("Un picnic en el parque")
    await sam.sees("¿Cuándo?")
    sam.says("sat 15:00")
    await sam.sees("lo que recibirá Alex", "un picnic en el parque", "sábado 15:00")
    await sam.presses("Enviárselo a Alex")
    await sam.sees("Te diré qué responde Alex")
    await alex.sees("Sam hätte gern Zeit mit dir", "Samstag 15:00", "Passt dir das?")
    await alex.presses("Klingt schön 💞")
    await alex.sees("Es ist geplant", "Picknick im Park", "Ich erinnere euch beide")
    await sam.sees("Está planeado", "un picnic en el parque", "Les avisaré a ustedes dos")

    plans_due(rig, 0)
    await alex.sees("Zeit für deine Zeit für dich", "Klettern mit Jo")
    await sam.sees("Llegó su tiempo en pareja")
    await alex.sees("Zeit für eure gemeinsame Zeit")
    plans_due(rig, 3.1)
    await sam.sees("¿Qué tal el tiempo en pareja")
    await alex.sees("Wie war deine Zeit für dich")
    # Alex is asked too, with the idea Sam picked in Alex's own words.
    await alex.sees("Wie war eure gemeinsame Zeit", "Picknick im Park")
    await alex.presses("Großartig")
    await alex.sees("Soll ich es Sam sagen")
    await alex.presses("Meinem Gegenüber sagen")
    await alex.sees("Ich habe es Sam erzählt")
    await sam.sees("Alex tuvo su tiempo propio", "genial")
    await sam.presses("Muy lindo")
    await sam.sees("¿Qué disfrutaste")
    sam_says("Tu risa con las hormigas")
    await sam.sees("¿Se lo digo a Alex?")
    await sam.presses("Contárselo a Alex")
    await sam.sees("Enviado 💛")
    await alex.sees("Sam hat eure gemeinsame Zeit genossen", "Tu risa con las hormigas")

    # The group: hello in the language of whoever added the bot; then the couple's, German.
    group = rig.talk.group("Wir", alex, sam)
    alex.ignores("✍️", in_=group)  # the reply box's own line (tests/telegram/test_group.py)
    rig.server.add_bot_to_group(group, alex.user)
    await alex.sees("Ich bin Us Coach", "/link", in_=group)
    alex.says("/link", group)
    await alex.sees("der gemeinsame Raum von Alex und Sam", in_=group)

    # State of the Union in the group, out loud: German for both; the closing question in
    # private, each in their own language.
    alex.says("/sotu", group)
    await alex.sees("Wochengespräch", "Wertschätzungen", in_=group)
    await sam.presses("Wir sitzen zusammen und sprechen miteinander", group)
    ask = await alex.sees("Bis zu fünf, eine pro Nachricht", in_=group)
    typed |= {"Sam hat am Dienstag gekocht", "Alex me escuchó el viernes"}
    alex.replies(ask, "Sam hat am Dienstag gekocht")
    sam.replies(ask, "Alex me escuchó el viernes")
    for _ in range(2):
        await alex.sees("Notiert. Noch eine", in_=group)
    await alex.presses("Das war's fürs Erste", group)
    await sam.presses("Das war's fürs Erste", group)
    issue = await sam.sees("ein Thema für heute", in_=group)
    assert labels_of(issue)[:3] == ["Geld", "Haushalt", "Zeit zu zweit"]
    await sam.presses("Geld", group)
    await alex.sees("Das Thema heute: Geld", in_=group)
    await alex.presses("Ja, dieses", group)
    await sam.presses("Ja, dieses", group)
    await alex.sees("Wer spricht zuerst", in_=group)
    await alex.presses("Alex zuerst", group)
    await sam.presses("Alex zuerst", group)
    await sam.sees("Sam, du hörst zuerst zu", in_=group)
    await alex.sees("Alex, du sprichst zuerst, laut", "Geld", in_=group)
    await alex.presses("Ich bin fertig", group)
    await sam.sees("Sam, fass laut zusammen", "Wenn ich dich richtig verstehe", in_=group)
    await alex.presses("Ich fühle mich gehört", group)
    await sam.sees("Ich kann verstehen, dass du das so siehst, weil", in_=group)
    await sam.presses("Fertig", group)
    await alex.sees("Jetzt tauscht: Sam spricht, Alex hört zu", in_=group)
    await alex.sees("Alex, du hörst jetzt zu", in_=group)
    await sam.sees("Sam, jetzt sprichst du, laut", in_=group)
    await sam.presses("Ich bin fertig", group)
    await alex.sees("Alex, fass laut zusammen", in_=group)
    await sam.presses("Ich fühle mich gehört", group)
    await alex.sees("Alex, sag jetzt laut", in_=group)
    await alex.presses("Fertig", group)
    await alex.sees("Wo steht ihr jetzt?", in_=group)
    await alex.presses("Eine Win-win-Lösung finden", group)
    await sam.presses("Eine Win-win-Lösung finden", group)
    brainstorm = await alex.sees("Ideen sammeln", in_=group)
    typed |= {"Samstag faul, Sonntag Ausflug", "Sábado tranquilo, domingo pícnic"}
    alex.replies(brainstorm, "Samstag faul, Sonntag Ausflug")
    await alex.sees("1 Idee bisher", in_=group)
    await sam.presses("Wir haben genug Ideen", group)
    await alex.presses("Wir haben genug Ideen", group)
    choose = await sam.sees("Welche passt für euch", in_=group)
    sam.replies(choose, "Sábado tranquilo, domingo pícnic")
    await alex.sees("Eure Vereinbarung", in_=group)
    await alex.presses("Wir sind beide einverstanden", group)
    await sam.presses("Wir sind beide einverstanden", group)
    await sam.sees("Wann sollen wir schauen", in_=group)
    await sam.presses("In einer Woche", group)
    await alex.sees("Vereinbart", "in 7 Tagen nachzuschauen", in_=group)
    await alex.sees("Was könnte Sam diese Woche tun")
    await sam.sees("¿qué podría hacer Alex esta semana")
    alex_says("Eine Umarmung, wenn ich heimkomme")
    await alex.sees("Sam würde lesen")
    await alex.presses("Abschicken")
    await alex.sees("Geschickt. 💛")
    await sam.sees("Después del encuentro, Alex compartió", "Eine Umarmung")
    await sam.presses("Lo haré esta semana 💛")
    await alex.sees("Sam hat gelesen, was dir helfen würde", "macht es diese Woche")
    sam_says("Pregúntame por mi examen")
    await sam.sees("Alex leería")
    await sam.presses("Enviarlo")
    await sam.sees("Enviado. 💛")
    await alex.sees("Nach eurem Gespräch hat Sam erzählt", "Pregúntame por mi examen")

    # /agreements in the group, then the group switches to Spanish for good.
    alex.says("/agreements", group)
    await alex.sees("Eure Vereinbarungen", "Sábado tranquilo", in_=group)
    sam.says("/language", group)
    menu = await sam.sees("Welche Sprache soll ich in dieser Gruppe sprechen", in_=group)
    assert labels_of(menu)[:4] == ["English", "Deutsch", "Español", "العربية"]
    await sam.presses("Español", group)
    await sam.sees("Listo: en este grupo hablaré español", in_=group)
    sam.says("/agreements", group)
    await sam.sees("Sus acuerdos", "Sábado tranquilo", in_=group)
    await rig.talk.settle()

    # Every word each heard: Alex's chat in German, Sam's in Spanish; the group in German
    # until the switch, Spanish after it.
    assert_heard_in("de", alex.inbox(), typed)
    assert_heard_in("es", sam.inbox(), typed)
    said_in_group = alex.inbox(group)
    switched = next(i for i, t in enumerate(said_in_group) if "hablaré español" in t)
    assert_heard_in("de", said_in_group[:switched], typed)
    assert_heard_in("es", said_in_group[switched:], typed)
    # Button labels too.
    for person, lang in ((alex, "de"), (sam, "es")):
        shown = [b["text"] for m in rig.server.bot_messages(person.private.id) for b in m.buttons]
        assert_heard_in(lang, [" ".join(shown)], typed)
