"""The second layer: one small classifier per shipped language, for what the rules cannot reach.

Per language, character n-grams (which survive missing accents, umlauts and typos) and word
n-grams (TF-IDF, features.py) feed two linear classifiers (scikit-learn): whether a message
signals danger (a logistic regression blended with a modified-Huber one), and which kind. A
third tells the languages apart, so a message is read in every language it could be in
(reading.py: Arabizi as Arabic; long messages sentence by sentence).

Training happens at build time, never while a person waits: `us-coach safety train` writes
`trained.npz` with the hash of what it learned from (learning.py); a test fails when it
is stale. The weights are kept in NumPy tables and a message is scored with the same
arithmetic in plain Python (test_safety_detect checks the two agree): scikit-learn's input
checking costs milliseconds, so it is imported only to train.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.safety.features import Analyzer, Features
from bot.safety.learning import data_hash, shipped_languages
from bot.safety.reading import READERS, model_text, pieces
from bot.safety.sets import Example

HERE = Path(__file__).resolve().parent
TRAINED = HERE / "trained.npz"
# The file's layout. 3: NumPy's zip of .npy tables beside their shape (JSON), so reading makes
# each table once, straight from its bytes: 2 was one JSON text with the tables in base64, and
# reading it held the file, its text, the parsed text and the tables at once (a start's peak
# memory +76 MB). 2 and 3 keep terms as stable 64-bit keys (features.py); 1 kept their text.
FORMAT = 3
SHAPE = "shape"  # the member that holds the shape
KIND_FROM = 0.5  # below this danger probability no threshold asks, so no kind is needed


@dataclass(frozen=True)
class Score:
    danger: float  # the probability that the message signals danger
    kind: str  # the most likely danger kind


# The danger classifier's weights are the mean of a logistic regression's and a linear
# classifier's trained with the modified Huber loss (SGD): across development writers the
# blend read German, Arabic and English one to two points better than either alone (RECIPE 9).
BLEND = 0.5
SGD_ALPHA = 1e-5


class Linear:
    """Vectorizers side by side and a logistic regression over them (for danger, blended
    with a modified-Huber classifier: still one linear model, scored the same way)."""

    def __init__(self, features: list[Features], intercepts: list[float], labels: list[str]):
        self.features, self.intercepts, self.labels = features, intercepts, labels

    @classmethod
    def train(
        cls,
        analyzers: list[Analyzer],
        texts: list[str],
        labels: list[Any],
        c: float,
        blend: float = 0.0,
    ) -> Linear:
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression, SGDClassifier

        vectorizers = [a.vectorizer() for a in analyzers]
        matrix = hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
        regression = LogisticRegression(C=c, max_iter=3000).fit(matrix, labels)
        coefficients, intercepts = regression.coef_, regression.intercept_
        if blend:
            huber = SGDClassifier(loss="modified_huber", alpha=SGD_ALPHA, random_state=7).fit(
                matrix, labels
            )
            coefficients = (1 - blend) * coefficients + blend * huber.coef_
            intercepts = (1 - blend) * intercepts + blend * huber.intercept_
        features, start = [], 0
        for analyzer, vectorizer in zip(analyzers, vectorizers, strict=True):
            width = len(vectorizer.vocabulary_)
            part = coefficients[:, start : start + width]
            features.append(Features.fitted(analyzer, vectorizer, part))
            start += width
        return cls(
            features,
            [float(b) for b in intercepts],
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

    def to_dict(self, arrays: dict[str, Any]) -> dict[str, Any]:
        return {
            "features": [f.to_dict(arrays) for f in self.features],
            "intercepts": self.intercepts,
            "labels": self.labels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], arrays: Any) -> Linear:
        return cls(
            [Features.from_dict(f, arrays) for f in data["features"]],
            [float(b) for b in data["intercepts"]],
            [str(label) for label in data["labels"]],
        )


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit)) if logit > -500 else 0.0


def _analyzers() -> list[Analyzer]:
    return [Analyzer("char", 2, 5), Analyzer("word", 1, 2)]


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
        danger = Linear.train(_analyzers(), texts, [e.danger for e in examples], c, BLEND)
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

    def to_dict(self, arrays: dict[str, Any]) -> dict[str, Any]:
        return {
            "danger": self.danger.to_dict(arrays),
            "kinds": self.kinds.to_dict(arrays),
            "reader": self.reader,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], arrays: Any) -> Model:
        return cls(
            Linear.from_dict(data["danger"], arrays),
            Linear.from_dict(data["kinds"], arrays),
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
        arrays: dict[str, Any] = {}
        shape = {
            "format": FORMAT,
            "hash": self.hash,
            "asks": self.asks,
            "languages": self.languages.linear.to_dict(arrays) if self.languages else None,
            "models": {lang: m.to_dict(arrays) for lang, m in self.models.items()},
        }
        _write_arrays(path, json.dumps(shape, ensure_ascii=False), arrays)

    @classmethod
    def read(cls, path: Path = TRAINED) -> Trained | None:
        """The trained classifiers in `path`, or None when an older layout wrote them."""
        import numpy as np

        with np.load(path) as arrays:  # a zip of .npy tables, each read when it is asked for
            shape = json.loads(bytes(arrays[SHAPE]).decode())
            if shape.get("format") != FORMAT:
                return None
            models = {lang: Model.from_dict(m, arrays) for lang, m in shape["models"].items()}
            guesser = None
            if shape["languages"]:
                guesser = Languages(Linear.from_dict(shape["languages"], arrays))
        asks = {k: float(v) for k, v in shape["asks"].items()}
        return cls(models, guesser, shape["hash"], asks)

    @classmethod
    def load(cls, path: Path = TRAINED) -> Trained:
        """The shipped model; trained here only when it is missing or stale (and said so)."""
        import logging

        languages = shipped_languages()
        if path.exists():
            trained = cls.read(path)
            if trained and trained.hash.split(":")[0] == data_hash(languages, templates=False):
                return trained
            logging.getLogger(__name__).warning(
                "%s is stale (the development sets or its layout changed): training now; "
                "run `us-coach safety train` and commit it",
                path.name,
            )
        from bot.safety.calibrate import train

        return train(languages)


def _write_arrays(path: Path, shape: str, arrays: dict[str, Any]) -> None:
    """What `np.savez` writes, with every member dated 1980-01-01: the same training gives the
    same bytes. Stored, not deflated: a start read the deflated file in 117 ms (67 of them
    inflating) and reads this one in 33 ms; deflating made it only a fifth smaller."""
    import io
    import zipfile

    import numpy as np

    members = {SHAPE: np.frombuffer(shape.encode(), dtype=np.uint8), **arrays}
    with zipfile.ZipFile(path, "w") as archive:
        for name, values in members.items():
            buffer = io.BytesIO()
            np.save(buffer, values, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, buffer.getvalue())
