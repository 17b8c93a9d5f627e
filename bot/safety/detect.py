"""Spotting signs that coaching must stop: rules first, a small classifier second.

The rules (`signals.yaml`, read by rules.py) are precise and explainable; the classifier
(model.py) reaches what they cannot (indirect talk, new slang). Both read the message as
normalise.py writes it. `bench/safety.py` measures the two together on the development set
and on a frozen held-out set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.core.memory import give_back
from bot.safety.model import Model, Score, Trained
from bot.safety.normalise import normalise
from bot.safety.rules import Rules

HERE = Path(__file__).resolve().parent
# The rules answer; the classifier only asks "Are you safe right now?" (with the help already
# visible), when its danger probability reaches ASK. Chosen on the development set by 5-fold
# cross-validation of the classifier alone (bench/safety.py --sweep), never on the held-out
# set: the lowest threshold at which it flags at most 5% of the safe messages, so that with
# the rules' own false alarms the bot stays near the 90% precision goal.
ASK = 0.80
# On one to three words the classifier reads mostly noise ("my private words" scored 0.79);
# short signs are the rules' job ("he hits me").
MODEL_MIN_WORDS = 4
# A language the guesser gives at least this chance is read too.
GUESS = 0.2
# Below this danger probability the classifier overrules a signal: across the development
# writers the rules never saw (leave one writer out, 1,650 danger messages in four languages),
# no danger message scored this low while a signal fired, and a sixth of the signals' false
# alarms (films, a past that is over, "nobody controls my money") did. A sure sign of
# self-harm is still asked about; a doubted or weaker one is let go like any other: in eight
# new writers' files, read before anything learnt from them (bench/safety.py --new), 22 safe
# messages ("I'm not suicidal, just burnt out", "I self-harmed as a teen, I'm fine now") and
# no danger message had only such a sign and a score this low. Raised from 0.1 to 0.2 when seven
# more writers' files (D178-D184, 3,545 messages), read by the RECIPE 11 classifiers that never
# learnt from them, showed 11 fewer false alarms (189 -> 178) and not one more miss (51);
# 0.25 began to miss.
VETO = 0.2


@dataclass(frozen=True)
class Finding:
    kind: str  # self_harm, violence, coercion, fear
    sure: bool  # False: ask "Are you safe right now?" first
    by: str  # "rules" or "model", for logs and the bench


class Detector:
    def __init__(
        self,
        rules: Rules,
        model: Trained | Model | Future[Trained] | None,
        ask: float = ASK,
        others: Mapping[str, Rules] | None = None,
    ) -> None:
        self.rules = rules  # English's signals, read in every message
        self._model = model
        self.ask = ask
        # Other languages' signals (bot/safety/<lang>/signals.yaml).
        self.others = others or {}
        self.languages = frozenset({"en", *self.others})

    @property
    def model(self) -> Trained | None:
        """The classifiers; the first message waits here if they are still being loaded."""
        if isinstance(self._model, Future):
            self._model = self._model.result()
        if isinstance(self._model, Model):  # one English classifier (the bench's folds)
            self._model = Trained({"en": self._model}, None, "")
        return self._model

    @classmethod
    def load(cls) -> Detector:
        return _default()

    def read_as(self, text: str, lang: str) -> list[str]:
        """The shipped languages a message could be in: the person's own first, then any the
        guesser gives a fair chance (people switch languages under stress)."""
        found = [lang] if lang in self.languages else []
        model = self.model
        if model is not None and model.languages is not None:
            guesses = model.languages.guess(text)
            found += [g for g, p in sorted(guesses.items(), key=lambda x: -x[1]) if p >= GUESS]
        return list(dict.fromkeys(found)) or ["en"]

    def screen(self, text: str, lang: str = "en") -> Finding | None:
        """What `text` signals, or None for everyday talk. A message is read by English's
        signals and by those of every shipped language it could be in, and by the classifier
        of each of those languages; `decide` weighs the two."""
        reading = self.read(text, lang)
        model = self.model
        return decide(reading, model.asks if model is not None else {}, self.ask)

    def read(self, text: str, lang: str = "en") -> Reading | None:
        """The signals and the classifiers' scores of one message, before any decision."""
        clean = normalise(text)
        if not clean:
            return None
        langs = self.read_as(text, lang)
        sure: str | None = None
        maybe: str | None = None
        rules = [self.rules] + [self.others[x] for x in langs if x in self.others]
        for hit in (hit for r in rules for hit in r.hits(clean, text)):
            kind = hit.signal.kind
            doubtful = hit.negated or hit.distant
            if doubtful and kind != "self_harm":
                continue  # "he would never hit me"; the rules never cancel self-harm: they ask
            if hit.signal.sure and not doubtful:
                sure = sure or kind
            else:
                maybe = maybe or kind
        scores: dict[str, Score] = {}
        model = self.model
        if model is not None and len(clean.split()) >= MODEL_MIN_WORDS:
            for each in langs:
                classifier = model.models.get(each)
                if classifier is not None:
                    scores[each] = classifier.score(text)
        return Reading(sure, maybe, scores)


@dataclass(frozen=True)
class Reading:
    """What the rules and the classifiers found in one message."""

    sure: str | None  # the kind of a sure, undoubted signal
    maybe: str | None  # the kind of a weaker or doubted one
    scores: dict[str, Score]  # per language read, when the message is long enough


def decide(reading: Reading | None, asks: dict[str, float], ask: float = ASK) -> Finding | None:
    """The rules answer, unless the classifier is all but sure the message is everyday
    talk (a film, a past that is over, "never"): then a sure sign of self-harm is asked
    about and any other sign is let go. Where no rule speaks, the classifier asks (at its language's
    threshold in `asks`, else `ask`)."""
    if reading is None:
        return None
    rule = reading.sure or reading.maybe
    if rule is not None:
        best = max((s.danger for s in reading.scores.values()), default=None)
        if best is not None and best < VETO:
            return Finding(rule, False, "rules") if reading.sure == "self_harm" else None
        return Finding(rule, reading.sure is not None, "rules")
    for lang, score in reading.scores.items():
        if score.danger >= asks.get(lang, ask):
            return Finding(score.kind, False, "model")
    return None


def _load_and_give_back() -> Trained:
    """The classifiers, and then the memory their reading used handed back to the system:
    the file's text is decoded and dropped, but glibc keeps the freed pages in the loading
    thread's arena (20 MB of every process's resident memory, measured in bench/scheduler.py)."""
    trained = Trained.load()
    give_back()
    return trained


@cache
def _default() -> Detector:
    # Built once per process. Reading the shipped classifiers takes a moment, so it runs
    # beside the rest of start-up; a message that arrives sooner waits for it.
    loading = ThreadPoolExecutor(1, thread_name_prefix="safety-model")
    model = loading.submit(_load_and_give_back)
    loading.shutdown(wait=False)
    others = SignalsByLanguage({p.parent.name: p for p in sorted(HERE.glob("*/signals.yaml"))})
    return Detector(Rules.load(), model, others=others)


class SignalsByLanguage(Mapping[str, Rules]):
    """Each language's signals, read from its file when a message is first read in it: a
    start reads English's alone (the others' YAML took 30 ms before the first reply, and a
    process may never see Arabic). Two threads reading the same language at once each build
    it; one is kept, both are right."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self._paths = paths
        self._read: dict[str, Rules] = {}

    def __getitem__(self, lang: str) -> Rules:
        rules = self._read.get(lang)
        if rules is None:
            rules = self._read.setdefault(lang, Rules.load(self._paths[lang]))
        return rules

    def __contains__(self, lang: object) -> bool:  # Mapping's own would read the file
        return lang in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)
