"""The second layer: one small classifier per shipped language, for what the rules cannot reach.

Per language, character n-grams (which survive missing accents, umlauts and typos) and word
n-grams (TF-IDF) feed two logistic regressions (scikit-learn): whether a message signals
danger, and which kind. A third tells the languages apart, so a message is read in every
language it could be in (reading.py: Arabizi as Arabic; long messages sentence by sentence).

Training happens at build time, never while a person waits: `us-coach safety train` writes
`trained.json.gz` with the hash of what it learned from (learning.py); a test fails when it
is stale. The weights are kept in dictionaries and a message is scored with the same
arithmetic in plain Python (test_safety_detect checks the two agree): scikit-learn's input
checking costs milliseconds, so it is imported only to train.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.safety.learning import data_hash, shipped_languages
from bot.safety.reading import READERS, model_text, pieces
from bot.safety.sets import Example

HERE = Path(__file__).resolve().parent
TRAINED = HERE / "trained.json.gz"
WORD_PATTERN = r"(?u)\b\w\w+\b"
KIND_FROM = 0.5  # below this danger probability no threshold asks, so no kind is needed
WHITE = re.compile(r"\s\s+")


@dataclass(frozen=True)
class Score:
    danger: float  # the probability that the message signals danger
    kind: str  # the most likely danger kind


class Analyzer:
    """scikit-learn's `char_wb` and `word` analyzers (lowercase, no accent stripping),
    written out so that scoring needs no scikit-learn."""

    def __init__(self, kind: str, low: int, high: int) -> None:
        self.kind, self.low, self.high = kind, low, high
        self.pattern = re.compile(WORD_PATTERN)

    # Equal analyzers share their counted n-grams (see _grams).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Analyzer) and (self.kind, self.low, self.high) == (
            other.kind,
            other.low,
            other.high,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.low, self.high))

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        if self.kind == "word":
            tokens = self.pattern.findall(text)
            grams = list(tokens) if self.low == 1 else []
            for n in range(max(self.low, 2), min(self.high, len(tokens)) + 1):
                grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
            return grams
        grams = []
        for word in WHITE.sub(" ", text).split():
            padded = f" {word} "
            for n in range(self.low, self.high + 1):
                offset = 0
                grams.append(padded[offset : offset + n])
                while offset + n < len(padded):
                    offset += 1
                    grams.append(padded[offset : offset + n])
                if offset == 0:
                    break
        return grams

    def vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self.kind == "word":
            # min_df=2: a word pair seen once is a writer's, not a language's (and half the
            # shipped terms, half the memory; across writers the figures stay where they were)
            return TfidfVectorizer(
                ngram_range=(self.low, self.high),
                sublinear_tf=True,
                token_pattern=WORD_PATTERN,
                min_df=2,
            )
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(self.low, self.high), sublinear_tf=True, min_df=2
        )


@lru_cache(maxsize=512)
def _grams(analyzer: Analyzer, text: str) -> Counter[str]:
    """A piece's n-grams, counted once for every language's classifier that reads it."""
    return Counter(analyzer(text))


class Features:
    """One fitted TfidfVectorizer (sublinear tf, l2 norm) as an analyzer and weight tables:
    a term's idf and its weight per class, found by the term's hash (NumPy: a message's few
    hundred n-grams are looked up and summed at once).

    Terms are kept as 64-bit hashes in a sorted array, not as a dictionary of strings: the
    four languages' classifiers hold 350,000 terms, which as Python strings and dictionary
    entries cost about 80 MB of every process. Python's string hash differs per process, so
    the table is built when the file is read; two terms sharing a hash is a 1 in 10^13 chance.
    """

    SEPARATOR = "\x1f"  # in no n-gram: grams never hold control characters

    def __init__(
        self,
        analyzer: Analyzer,
        terms: list[str],
        idf: Any,
        weights: Any,
        keys: Iterator[int] | None = None,
    ) -> None:
        import numpy as np

        self.analyse = analyzer
        self.classes = int(weights.shape[1])
        self.terms = terms  # kept only to be saved (a model read from the file has none)
        hashed = keys if keys is not None else (hash(t) for t in terms)
        keys_ = np.fromiter(hashed, dtype=np.int64, count=len(idf))
        order = np.argsort(keys_)
        self.order = order  # sorted row -> the term's own position (for saving)
        self.keys = keys_[order]
        self.idf = np.asarray(idf)[order]
        self.weights = np.asarray(weights)[order]

    @classmethod
    def fitted(cls, analyzer: Analyzer, vectorizer: Any, coefficients: Any) -> Features:
        import numpy as np

        vocabulary = vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        return cls(analyzer, terms, vectorizer.idf_, np.asarray(coefficients).T)

    def scores(self, text: str) -> list[float]:
        import numpy as np

        counts = _grams(self.analyse, text)
        if not counts or not len(self.keys):
            return [0.0] * self.classes
        hashes = np.fromiter((hash(g) for g in counts), dtype=np.int64, count=len(counts))
        at = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        known = self.keys[at] == hashes
        if not known.any():
            return [0.0] * self.classes
        rows = at[known]
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
        values = (1.0 + np.log(tf)) * self.idf[rows]
        norm = float(np.sqrt(values @ values))
        return [float(x) for x in (values @ self.weights[rows]) / norm]

    def to_dict(self) -> dict[str, Any]:
        # Arrays as base64 of float32 bytes and the terms as one string: read back without
        # making a Python object per number or term (what a start would keep as memory).
        import numpy as np

        if len(self.order) != len(self.keys):
            raise ValueError("only a model trained in this process can be saved")
        back = np.empty_like(self.order)
        back[self.order] = np.arange(len(self.order))  # sorted rows back to the terms' order
        return {
            "analyzer": [self.analyse.kind, self.analyse.low, self.analyse.high],
            "classes": self.classes,
            "terms": self.SEPARATOR.join(self.terms),
            "idf": _packed(self.idf[back]),
            "weights": _packed(self.weights[back].ravel()),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Features:
        kind, low, high = data["analyzer"]
        classes = int(data["classes"])
        terms = data["terms"].split(cls.SEPARATOR) if data["terms"] else []  # map(hash) in C
        made = cls(
            Analyzer(kind, low, high),
            [],
            _unpacked(data["idf"]),
            _unpacked(data["weights"]).reshape(-1, classes),
            keys=map(hash, terms),
        )
        made.order = made.order[:0]  # a model read from the file is never saved again
        return made


def _packed(values: Any) -> str:
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()


def _unpacked(text: str) -> Any:
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<f4")


class Linear:
    """Vectorizers side by side and a logistic regression over them."""

    def __init__(self, features: list[Features], intercepts: list[float], labels: list[str]):
        self.features, self.intercepts, self.labels = features, intercepts, labels

    @classmethod
    def train(
        cls, analyzers: list[Analyzer], texts: list[str], labels: list[Any], c: float
    ) -> Linear:
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        vectorizers = [a.vectorizer() for a in analyzers]
        matrix = hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
        regression = LogisticRegression(C=c, max_iter=3000).fit(matrix, labels)
        coefficients, features, start = regression.coef_, [], 0
        for analyzer, vectorizer in zip(analyzers, vectorizers, strict=True):
            width = len(vectorizer.vocabulary_)
            part = coefficients[:, start : start + width]
            features.append(Features.fitted(analyzer, vectorizer, part))
            start += width
        return cls(
            features,
            [float(b) for b in regression.intercept_],
            [str(label) for label in regression.classes_],
        )

    def scores(self, text: str) -> list[float]:
        totals = list(self.intercepts)
        for features in self.features:
            for c, value in enumerate(features.scores(text)):
                totals[c] += value
        return totals

    def probabilities(self, text: str) -> dict[str, float]:
        """Per label (binary: the positive label alone; several: softmax)."""
        scores = self.scores(text)
        if len(scores) == 1:
            return {self.labels[1]: _sigmoid(scores[0])}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.labels, exps, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "intercepts": self.intercepts,
            "labels": self.labels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Linear:
        return cls(
            [Features.from_dict(f) for f in data["features"]],
            [float(b) for b in data["intercepts"]],
            [str(label) for label in data["labels"]],
        )


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit)) if logit > -500 else 0.0


def _analyzers() -> list[Analyzer]:
    return [Analyzer("char_wb", 2, 5), Analyzer("word", 1, 2)]


class Model:
    """One language's classifier: danger or not, and which kind."""

    def __init__(self, danger: Linear, kinds: Linear, reader: str = "plain") -> None:
        self.danger = danger
        self.kinds = kinds
        self.reader = reader
        self.read = READERS[reader]

    @classmethod
    def train(cls, examples: list[Example], c: float = 16.0, reader: str = "plain") -> Model:
        read = READERS[reader]
        texts = [read(e.text) for e in examples]
        danger = Linear.train(_analyzers(), texts, [e.danger for e in examples], c)
        risky = [(t, e.kind) for t, e in zip(texts, examples, strict=True) if e.danger]
        kinds = Linear.train(
            [Analyzer("char_wb", 2, 5)], [t for t, _ in risky], [k for _, k in risky], c
        )
        return cls(danger, kinds, reader)

    def score(self, text: str) -> Score:
        """The highest danger of the whole message and of each of its sentences."""
        best, best_piece = -1.0, text
        for piece in (self.read(p) for p in pieces(text)):
            danger = _sigmoid(self.danger.scores(piece)[0])
            if danger > best:
                best, best_piece = danger, piece
        if best < KIND_FROM:
            return Score(max(best, 0.0), "")  # no kind to name: nothing will be said
        kind_scores = self.kinds.scores(best_piece)
        kind = self.kinds.labels[max(range(len(kind_scores)), key=kind_scores.__getitem__)]
        return Score(best, kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "danger": self.danger.to_dict(),
            "kinds": self.kinds.to_dict(),
            "reader": self.reader,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(
            Linear.from_dict(data["danger"]),
            Linear.from_dict(data["kinds"]),
            str(data.get("reader", "plain")),
        )


class Languages:
    """Which shipped languages a message could be in (character n-grams, one regression)."""

    def __init__(self, linear: Linear) -> None:
        self.linear = linear

    @classmethod
    def train(cls, sets: dict[str, list[Example]]) -> Languages:
        texts: list[str] = []
        labels: list[str] = []
        for lang, examples in sets.items():
            texts.extend(model_text(e.text) for e in examples)
            labels.extend([lang] * len(examples))
        return cls(Linear.train([Analyzer("char_wb", 1, 3)], texts, labels, 10.0))

    def guess(self, text: str) -> dict[str, float]:
        return self.linear.probabilities(model_text(text))


@dataclass
class Trained:
    """Every language's classifier, its threshold, and the language guesser, as shipped."""

    models: dict[str, Model]
    languages: Languages | None
    hash: str
    # Per language, the danger probability at which the classifier asks "Are you safe right
    # now?": chosen across that language's development writers (calibrate.py), never on a
    # held-out set.
    asks: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path = TRAINED) -> None:
        data = {
            "hash": self.hash,
            "asks": self.asks,
            "languages": self.languages.linear.to_dict() if self.languages else None,
            "models": {lang: m.to_dict() for lang, m in self.models.items()},
        }
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        # mtime=0: the same training gives the same bytes
        path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))

    @classmethod
    def read(cls, path: Path = TRAINED) -> Trained:
        data = json.loads(gzip.decompress(path.read_bytes()))
        models = {lang: Model.from_dict(m) for lang, m in data["models"].items()}
        guesser = Languages(Linear.from_dict(data["languages"])) if data["languages"] else None
        return cls(models, guesser, data["hash"], {k: float(v) for k, v in data["asks"].items()})

    @classmethod
    def load(cls, path: Path = TRAINED) -> Trained:
        """The shipped model; trained here only when it is missing or stale (and said so)."""
        import logging

        languages = shipped_languages()
        if path.exists():
            trained = cls.read(path)
            if trained.hash.split(":")[0] == data_hash(languages, templates=False):
                return trained
            logging.getLogger(__name__).warning(
                "%s is stale (the development sets changed): training now; "
                "run `us-coach safety train` and commit it",
                path.name,
            )
        from bot.safety.calibrate import train

        return train(languages)
