"""How well the shipped model hears each language, on espeak-ng's synthetic voice: a word
error bound per language, measured and written down (README "Voice notes").

Measured on 2026-12-06 (Whisper base, beam 1, VAD on): English 0.17, German 0.15, Spanish
0.39, Arabic 0.95. espeak-ng's Arabic has no short vowels and barely resembles speech; the
figure says little about real Arabic voices, and the bound only holds Arabic to being heard
as Arabic. An operator who needs better Arabic points VOICE_MODEL_DIR at a larger Whisper.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pytest

from bot.voice.transcriber import Transcriber
from tests.speech import needs_espeak, spoken

pytestmark = needs_espeak

SENTENCES = {
    "en": [
        "I feel tired and I need help with the kids tonight.",
        "Can we talk about money this weekend without fighting?",
        "I miss you when you work late every night.",
        "Thank you for cooking dinner, it made my day.",
        "My husband hit me yesterday and I am scared.",
    ],
    "de": [
        "Ich bin müde und brauche heute Abend Hilfe mit den Kindern.",
        "Können wir am Wochenende über Geld reden, ohne zu streiten?",
        "Ich vermisse dich, wenn du jeden Abend lange arbeitest.",
        "Danke, dass du das Abendessen gekocht hast.",
        "Mein Mann hat mich gestern geschlagen und ich habe Angst.",
    ],
    "es": [
        "Estoy cansada y necesito ayuda con los niños esta noche.",
        "¿Podemos hablar de dinero este fin de semana sin pelear?",
        "Te extraño cuando trabajas hasta tarde todas las noches.",
        "Gracias por cocinar la cena, me alegraste el día.",
        "Mi esposo me pegó ayer y tengo miedo.",
    ],
    "ar": [
        "أنا متعبة وأحتاج مساعدة مع الأطفال الليلة",
        "هل يمكننا أن نتحدث عن المال في نهاية الأسبوع بدون شجار",
        "أشتاق إليك عندما تعمل حتى وقت متأخر كل ليلة",
        "شكرا لأنك طبخت العشاء اليوم",
        "زوجي ضربني أمس وأنا خائفة",
    ],
}
# The most word errors per reference word each language may have (measured ones above).
# Arabic as espeak-ng speaks it is barely words to Whisper base: about every word is heard
# wrong (0.97 on two threads, 1.03 on one). Its bound only catches a broken pipeline; the
# script check in the test says it is still heard as Arabic.
BOUND = {"en": 0.30, "de": 0.30, "es": 0.55, "ar": 1.1}
ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")


def words(text: str, lang: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).casefold()
    if lang == "ar":
        text = ARABIC_MARKS.sub("", text)
        text = re.sub("[آأإٱ]", "ا", text).replace("ى", "ي").replace("ة", "ه")
    return "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text).split()


def errors(reference: list[str], heard: list[str]) -> int:
    """Word edit distance (substitutions, insertions, deletions)."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(reference, 1):
        before, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            before, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, before + (word != other))
    return row[-1]


@cache
def transcriber() -> Transcriber:
    # One thread: the same words under any load (on two threads a busy CI machine once heard
    # Arabic as one thread does, and a quiet one otherwise).
    return Transcriber(workers=1, threads=1)


def word_error_rate(lang: str) -> tuple[float, list[str]]:
    wrong = total = 0
    heard_all = []
    for sentence in SENTENCES[lang]:
        heard = transcriber().transcribe(spoken(sentence, lang), lang).text
        heard_all.append(heard)
        reference = words(sentence, lang)
        wrong += errors(reference, words(heard, lang))
        total += len(reference)
    return wrong / total, heard_all


def test_word_errors_are_counted_as_edits() -> None:
    assert errors(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert errors(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert errors(["a", "b"], []) == 2
    assert words("Mi esposo, ¡me PEGÓ!", "es") == ["mi", "esposo", "me", "pegó"]
    assert words("أَنا خائفةٌ", "ar") == ["انا", "خائفه"]


@pytest.mark.parametrize("lang", ["en", "de", "es", "ar"])
def test_each_language_is_heard_within_its_bound(lang: str) -> None:
    rate, heard = word_error_rate(lang)
    print(f"{lang}: word error rate {rate:.2f} (bound {BOUND[lang]:.2f}); heard {heard}")
    assert rate <= BOUND[lang], heard
    if lang == "ar":  # heard as Arabic, in Arabic script, whatever the words
        letters = [c for text in heard for c in text if c.isalpha()]
        assert letters and sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters) > 0.9
