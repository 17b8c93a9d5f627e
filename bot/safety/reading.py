"""How the safety classifiers read a message: the rules' normal form without accents, Arabic
script and Arabizi as one consonant skeleton, and long messages sentence by sentence."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.safety.normalise import normalise

SENTENCE = re.compile(r"(?<=[.!?…;])\s+|\s*\n+\s*")
MIN_SENTENCE_WORDS = 3


# One screening reads a text several times (the language guesser, each language's classifier):
# the same text is prepared once.
@lru_cache(maxsize=64)
def model_text(text: str) -> str:
    """What the classifiers read: the rules' normal form, without accents or umlauts (people
    type "schlaegt", "schlagt" and "schlägt"; "tambien" and "también")."""
    clean = normalise(text).replace("ß", "ss")
    decomposed = unicodedata.normalize("NFD", clean)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


# Arabic is typed in its own script and in Latin letters with digits (Arabizi: "jouzi
# darabni" is "جوزي ضربني"). Both are also read as one consonant skeleton ("jz drbn"), so
# what one writer types in one script teaches the classifier the other.
ARABIZI = {
    **dict.fromkeys("اأإآٱ", "a"),
    "ب": "b",
    "ت": "t",
    "ث": "th",
    "ج": "j",
    "ح": "7",
    "خ": "5",
    "د": "d",
    "ذ": "th",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "3",
    "غ": "gh",
    "ف": "f",
    "ق": "2",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ة": "a",
    "و": "w",
    "ي": "y",
    "ى": "a",
    **dict.fromkeys("ءئؤ", "2"),
    "گ": "g",
    "چ": "ch",
    "پ": "p",
    "ڤ": "v",
}
ARABIC_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")


@lru_cache(maxsize=64)  # the Arabic classifier and the Arabic rules read the same one
def skeleton(text: str) -> str:
    """Arabic script and Arabizi alike as Latin consonants and Arabizi digits."""
    text = ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(ARABIZI.get(c, c) for c in text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = text.replace("kh", "5").replace("9", "2").replace("q", "2").replace("8", "5")
    text = re.sub(r"[aeiouyw]", "", text)
    return re.sub(r"\s+", " ", re.sub(r"(.)\1+", r"\1", text)).strip()


@lru_cache(maxsize=64)
def arabic_text(text: str) -> str:
    return f"{model_text(text)} {skeleton(text)}"


READERS = {"plain": model_text, "arabic": arabic_text}
READER_OF = {"ar": "arabic"}


def pieces(text: str) -> list[str]:
    """The whole message and, when it has several, each sentence of three words or more."""
    parts = [p for p in SENTENCE.split(text) if len(p.split()) >= MIN_SENTENCE_WORDS]
    return [text, *parts] if len(parts) > 1 else [text]
