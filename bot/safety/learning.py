"""What the safety classifiers learn from: each language's development sets and the bot's own
everyday words (never the held-out sets), and the hash that tells a shipped model is stale."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bot.safety.reading import MIN_SENTENCE_WORDS, SENTENCE
from bot.safety.sets import Example

HERE = Path(__file__).resolve().parent
# Bumped when features or training change, so a shipped model made the old way is stale
# (10: each classifier asks calibrate.FRESH below the balance across writers; 11: FRESH 0.10;
# 12: FRESH 0; 13: FRESH 0.05).
RECIPE = "13"


def development_files(lang: str) -> list[Path]:
    """The development sets a language's classifier learns from (never the held-out sets)."""
    if lang == "en":
        return [HERE / "development.yaml", *sorted((HERE / "en").glob("development*.yaml"))]
    return sorted((HERE / lang).glob("development*.yaml"))


PROMPTS = HERE.parent.parent / "prompts"
# The bot's own words about danger are no everyday talk: they stay out of the safe examples,
# and so do its words about itself (help, privacy, Our space): menus, not coaching talk.
NOT_EVERYDAY = ("safety", "safe", "help", "privacy", "forget", "space")


def everyday_files(lang: str) -> list[Path]:
    """The bot's own templates in a language: coaching talk about feelings, struggles,
    appreciations and plans, which the classifier learns as safe (it once read "Es erinnerte
    mich an meine Schulzeit" as danger)."""
    folder = PROMPTS / lang
    return sorted(p for p in folder.glob("*/*.j2") if not p.stem.startswith(NOT_EVERYDAY))


def everyday(lang: str) -> list[Example]:
    """Each template's sentences, without markup, variables or tags, as safe examples."""
    found: dict[str, None] = {}
    for path in everyday_files(lang):
        text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|<[^>]+>", " ", path.read_text("utf-8"))
        for sentence in SENTENCE.split(text):
            sentence = " ".join(sentence.split())
            if len(sentence.split()) >= MIN_SENTENCE_WORDS and "/" not in sentence:
                found.setdefault(sentence)
    return [Example(t, False, "everyday", "bot_words") for t in found]


def shipped_languages() -> list[str]:
    return ["en", *sorted(p.parent.name for p in HERE.glob("*/signals.yaml"))]


def data_hash(languages: list[str], templates: bool = True) -> str:
    """The hash of what the classifiers learn from. The development sets ship inside the
    package; the templates (the everyday words) may live elsewhere in an installed image, so
    a running bot checks the sets alone and the test suite checks both."""
    digest = hashlib.sha256(RECIPE.encode())
    for lang in languages:
        for path in development_files(lang):
            digest.update(f"{lang}/{path.name}".encode())
            digest.update(path.read_bytes())
    sets = digest.hexdigest()
    if not templates:
        return sets
    for lang in languages:
        for path in everyday_files(lang):
            digest.update(f"{lang}/{path.name}".encode())
            digest.update(path.read_bytes())
    return f"{sets}:{digest.hexdigest()}"
