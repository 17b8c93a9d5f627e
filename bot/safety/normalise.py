"""Text as the safety rules read it: one spelling for the many ways people type a word.

Unicode NFKC and case folding first (full-width letters, ligatures, "İ"), then curly
quotes, risk emoji as words, leetspeak inside words ("k1ll"), stretched letters
("dieeee"), a short list of shorthand and common misspellings, and Arabic without its
optional marks. The list is in `spellings.yaml` so a coach can grow it without Python.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from bot.yaml_files import read_yaml

HERE = Path(__file__).resolve().parent
QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# A word with letters and leet digits or symbols mixed: "k1ll", "mys3lf", "$uicide".
LEET_WORD = re.compile(r"\b(?=[\w@$]*[a-z])(?=[\w@$]*[013457@$])[a-z013457@$]{3,}\b")
STRETCHED = re.compile(r"([a-z])\1{2,}")
TOKEN = re.compile(r"[^\W\d_][\w$']*|\$+")  # whole words, in any script
NUMBER = re.compile(r"(?<![\w$])(?:2|4|\$+)(?![\w$])")  # "want 2 die", "all my $$"
VARIATION = re.compile("[\ufe0f\u200d]")
# Arabic is typed with or without its vowel marks, the elongating tatweel and the hamza on
# alef, and with ى for ي at a word's end: one spelling for each.
ARABIC_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")
ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})


@cache
def _spellings() -> tuple[dict[str, str], dict[str, str], re.Pattern[str]]:
    data = read_yaml(HERE / "spellings.yaml")
    emoji = {str(k): f" {v} " for k, v in data["emoji"].items()}
    words = {str(k): str(v) for k, v in data["words"].items()}
    pattern = re.compile("|".join(re.escape(e) for e in sorted(emoji, key=len, reverse=True)))
    return emoji, words, pattern


# The detector and the classifiers' reading both start here, from the same text.
@lru_cache(maxsize=64)
def normalise(text: str) -> str:
    emoji, words, emoji_pattern = _spellings()
    text = unicodedata.normalize("NFKC", text).casefold().translate(QUOTES)
    text = VARIATION.sub("", text)
    text = emoji_pattern.sub(lambda m: emoji[m.group(0)], text)
    text = text.replace("w/o", "without").replace("w/", "with ")
    text = LEET_WORD.sub(lambda m: m.group(0).translate(LEET), text)
    text = STRETCHED.sub(r"\1", text)
    text = TOKEN.sub(lambda m: words.get(m.group(0), m.group(0)), text)
    text = NUMBER.sub(lambda m: words.get(m.group(0), m.group(0)), text)
    text = ARABIC_MARKS.sub("", text).translate(ARABIC_LETTERS)
    return re.sub(r"\s+", " ", text).strip()
