"""The first layer: the signals in `signals.yaml`, with idioms and negation applied."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bot.safety.normalise import normalise
from bot.safety.reading import skeleton
from bot.yaml_files import read_yaml

HERE = Path(__file__).resolve().parent
MACRO = re.compile(r"\{([a-z_]+)\}")
WORD = re.compile(r"[^\W\d_][\w']*")  # a word in any script ("don't", "nicht", "لا")
BOUNDARY = re.compile(r"\W+")
CLAUSE_BREAK = re.compile(r"[.,;:!?()\"\-–—]")
SENTENCE_BREAK = re.compile(r"[.;!?]")
# Negation reads the last few words before a sign, and distance the same sentence: a bounded
# tail of the text, so that a long message full of signs is read in linear time (a whole-text
# prefix per sign made a 20,000-character message take seconds).
CLAUSE_TAIL = 160  # the last three words and a clause word, even long German ones
SENTENCE_TAIL = 600  # a distance phrase further back than this belongs to another thought
# People drop umlauts and accents on phones ("schlagt", "me pego", "mas"): the rules read
# text and patterns both without them (and with a language's digraphs, see Folding); every
# place the rules look at is in that folded text. The classifiers learn both spellings from
# the sets themselves.
FOLD = str.maketrans("äöüáéíóúàèìòùâêîôûñç", "aouaeiouaeiouaeiounc")


def fold(text: str) -> str:
    return text.translate(FOLD)


@dataclass(frozen=True)
class Folding:
    """`fold`, then a language's digraphs (German's "ue" for "ü": "gewuergt" is "gewürgt"),
    applied to the message and to every pattern and word alike."""

    digraphs: tuple[tuple[str, str], ...] = ()

    def __call__(self, text: str) -> str:
        text = fold(text)
        for typed, letter in self.digraphs:
            text = text.replace(typed, letter)
        return text


@dataclass(frozen=True)
class Negation:
    """When a negation cancels a sign; the words are in signals.yaml under `negation`."""

    cues: frozenset[str]  # "never", "not", ... (and any word ending in "n't")
    clause_words: frozenset[str]  # a new clause starts: "but", "knows", "told", ...
    keep_going: frozenset[str]  # "won't stop hitting me" is not a negation
    distance: tuple[str, ...]  # "years ago", "someone who": past, or nobody in particular
    # A past with a number in it ("vor 3 jahren", "hace dos años"), which a list of phrases
    # cannot spell out: one pattern per language (`negation.ago`), or None.
    ago: re.Pattern[str] | None = None
    # German negates after the verb ("er schlägt mich nicht"): cues read as the next word
    # after a sign, in the same clause (`negation.after`; empty elsewhere).
    after: frozenset[str] = frozenset()
    # A past said to be over after the sign ("he choked me. That was 2011, he's in another
    # country now"): one pattern per language (`negation.over`), or None.
    over: re.Pattern[str] | None = None

    def follows(self, text: str, end: int) -> bool:
        """Whether the word right after `text[:end]`, in the same clause, is an `after` cue
        that `keep_going` does not turn round ("schlägt mich nicht nur" is not a negation)."""
        if not self.after:
            return False
        words = WORD.findall(CLAUSE_BREAK.split(text[end : end + CLAUSE_TAIL], maxsplit=1)[0])
        if not words or words[0] not in self.after:
            return False
        return len(words) < 2 or words[1] not in self.keep_going

    def before(self, text: str, end: int) -> bool:
        """Whether a negation in the same clause, within three words, ends `text[:end]`."""
        words = WORD.findall(CLAUSE_BREAK.split(_tail(text, end, CLAUSE_TAIL))[-1])
        for i in range(len(words) - 1, -1, -1):
            if words[i] in self.clause_words:
                words = words[i + 1 :]
                break
        window = words[-3:]
        for i, word in enumerate(window):
            if word in self.cues or word.endswith("n't"):
                following = window[i + 1 : i + 2]
                if following and following[0] in self.keep_going:
                    continue
                return True
        return False

    def distant(self, text: str, end: int) -> bool:
        """Whether the sentence that `text[:end]` ends puts what follows in the past or on nobody
        in particular ("Years ago my ex...", "someone who...", "vor 3 jahren hat er..."): a
        phrase of `distance` or the language's `ago` pattern, earlier in the same sentence
        ("he hit me in 2015" is not distant; "in 2015 he hit me" is), or the language's `over`
        pattern in what follows ("My ex choked me. That was 2011, I'm safe now")."""
        sentence = f" {SENTENCE_BREAK.split(_tail(text, end, SENTENCE_TAIL))[-1]} "
        return (
            any(f" {phrase} " in sentence or f" {phrase}," in sentence for phrase in self.distance)
            or bool(self.ago and self.ago.search(sentence))
            or bool(self.over and self.over.search(text, end, end + SENTENCE_TAIL))
        )


def _tail(text: str, end: int, size: int) -> str:
    """At most `size` characters of `text` before `end`, starting at a word's beginning (a
    cut "cannot" must not read as "not")."""
    start = end - size
    if start <= 0:
        return text[:end]
    cut = BOUNDARY.search(text, start - 1, end)
    return text[cut.end() if cut else end : end]


@dataclass(frozen=True)
class Signal:
    kind: str  # self_harm, violence, coercion, fear
    topic: str  # what within the kind ("threats", "money"); "ask" for the weaker signs
    pattern: re.Pattern[str]

    @property
    def sure(self) -> bool:
        return self.topic != "ask"


@dataclass(frozen=True)
class Hit:
    signal: Signal
    negated: bool
    distant: bool  # in the past, or about nobody in particular


def _words(path: Path, name: str, words: list[object], folding: Folding) -> list[str]:
    """A list of words, folded; YAML reads a bare `no` as False, which once dropped "no"
    from the English and Spanish negation cues without a word."""
    wrong = [w for w in words if not isinstance(w, str)]
    if wrong:
        raise ValueError(f"{path}: negation {name} must be quoted words, not {wrong}")
    # Read the way a message is read (normalise: "im tatort" reads "i'm tatort"), then folded
    return [folding(normalise(w)) for w in words if isinstance(w, str)]


def _signals(
    spec: dict[str, dict[str, list[str]]], words: dict[str, str], folding: Folding
) -> list[tuple[str, str, str]]:
    return [
        (kind, topic, folding(_expand(pattern, words)))
        for kind, topics in spec.items()
        for topic, patterns in topics.items()
        for pattern in patterns
    ]


def _expand(pattern: str, words: dict[str, str]) -> str:
    for _ in range(4):  # macros may use macros ({me} uses {body})
        pattern = MACRO.sub(lambda m: words.get(m.group(1), m.group(0)), pattern)
    return pattern


class Rules:
    """One language's signals and idioms. Their patterns are compiled when a message is
    first read with them, not at start-up: English's take 60 ms to compile, which every
    start paid before its first reply, and a process may never read Arabic at all.
    (Compiling them all in a background thread at start-up was tried: on two cores it
    only competed with the start for the GIL, and the first reply came later.)"""

    def __init__(
        self,
        signals: list[tuple[str, str, str]],
        idioms: list[str],
        negation: Negation,
        skeletal: list[tuple[str, str, str]] | None = None,
        skeletal_negation: Negation | None = None,
        folding: Folding = Folding(),
    ) -> None:
        self.folding = folding
        self._signals = signals  # (kind, topic, pattern) with the macros expanded
        self._idioms = idioms
        self.negation = negation
        # Arabic also has signals written on the consonant skeleton (reading.skeleton), which
        # reads Arabic script and Arabizi alike: "darabni", "drebni" and "ضربني" are "drbn".
        self._skeletal = skeletal or []
        self.skeletal_negation = skeletal_negation or negation

    @cached_property
    def signals(self) -> list[Signal]:
        return [Signal(kind, topic, re.compile(p)) for kind, topic, p in self._signals]

    @cached_property
    def idioms(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self._idioms]

    @cached_property
    def skeletal(self) -> list[Signal]:
        return [Signal(kind, topic, re.compile(p)) for kind, topic, p in self._skeletal]

    @cached_property
    def anything(self) -> re.Pattern[str] | None:
        # Every signal as one alternation: most messages match none, and one scan in C says
        # so for a seventh of the time the signals one by one take (bench/safety.py's speed).
        patterns = [p for _kind, _topic, p in self._signals]
        return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    @classmethod
    def load(cls, path: Path = HERE / "signals.yaml") -> Rules:
        data = read_yaml(path)
        words = {name: str(value) for name, value in data.get("words", {}).items()}
        folding = Folding(tuple((str(k), str(v)) for k, v in data.get("digraphs", {}).items()))
        signals = _signals(data["signals"], words, folding)
        idioms = [folding(_expand(p, words)) for p in data.get("idioms", [])]
        ago = data["negation"].get("ago")
        over = data["negation"].get("over")
        spec = {
            name: _words(path, name, list(spec), folding)
            for name, spec in data["negation"].items()
            if name not in ("ago", "over")
        }
        negation = Negation(
            frozenset(spec["cues"]),
            frozenset(spec["clause_words"]),
            frozenset(spec["keep_going"]),
            tuple(spec["distance"]),
            re.compile(folding(_expand(ago, words))) if ago else None,
            frozenset(spec.get("after", [])),
            re.compile(folding(_expand(over, words))) if over else None,
        )
        bones = data.get("skeleton")
        if not bones:
            return cls(signals, idioms, negation, folding=folding)
        plain = Folding()  # a skeleton has no vowels to fold
        cues = _words(path, "skeleton cues", list(bones["cues"]), plain)
        past = _words(path, "skeleton distance", list(bones.get("distance", [])), plain)
        bare = Negation(frozenset(cues), frozenset(), negation.keep_going, tuple(past))
        skeletal = _signals(bones["signals"], words, plain)
        return cls(signals, idioms, negation, skeletal, bare, folding)

    def hits(self, clean: str, typed: str = "") -> list[Hit]:
        """Every signal in the normalised text that no idiom explains away, and every
        skeletal signal in the skeleton of the text as typed (before normalising, which
        reads Arabizi's digits as leetspeak)."""
        found = self._hits(self.folding(clean))
        if self._skeletal and typed:
            bones, negation = skeleton(typed), self.skeletal_negation
            for signal in self.skeletal:
                for match in signal.pattern.finditer(bones):
                    start, end = match.span()
                    found.append(
                        Hit(signal, negation.before(bones, start), negation.distant(bones, end))
                    )
        return found

    def _hits(self, clean: str) -> list[Hit]:
        if self.anything is None or self.anything.search(clean) is None:
            return []
        idiom_spans = [m.span() for idiom in self.idioms for m in idiom.finditer(clean)]
        doubt = self.negation
        found = []
        for signal in self.signals:
            for match in signal.pattern.finditer(clean):
                start, end = match.span()
                if any(a < end and start < b for a, b in idiom_spans):
                    continue
                negated = doubt.before(clean, start) or doubt.follows(clean, end)
                found.append(Hit(signal, negated, doubt.distant(clean, end)))
        return found
