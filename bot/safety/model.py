"""The second layer: a small classifier for what the rules cannot reach.

Character and word n-grams (TF-IDF) and logistic regressions (scikit-learn): one says
whether a message signals danger, one which kind. Both are trained at start-up on the
development set (`development.yaml`: danger messages of each kind and safe look-alikes such
as idioms, heated arguments, past events and hypotheticals); nothing is downloaded and what
the model learned is always what the file says.

Scoring one message through scikit-learn's pipeline costs about 3 ms of input checking and
sparse-matrix building, more than the whole budget, so after training the weights are
copied into dictionaries and a message is scored with the same arithmetic in plain Python
(test_safety_detect checks the two agree).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.safety.normalise import normalise
from bot.safety.sets import Example, load_set

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Score:
    danger: float  # the probability that the message signals danger
    kind: str  # the most likely danger kind


class Features:
    """One fitted TfidfVectorizer (sublinear tf, l2 norm) as an analyzer and weight tables."""

    def __init__(self, vectorizer: Any, coefficients: Any) -> None:
        self.analyse: Callable[[str], list[str]] = vectorizer.build_analyzer()
        idf = vectorizer.idf_
        # term -> (idf, weight per class)
        self.terms: dict[str, tuple[float, tuple[float, ...]]] = {
            term: (float(idf[j]), tuple(float(row[j]) for row in coefficients))
            for term, j in vectorizer.vocabulary_.items()
        }
        self.classes = len(coefficients)

    def scores(self, text: str) -> list[float]:
        counts = Counter(self.analyse(text))
        totals = [0.0] * self.classes
        norm = 0.0
        for term, count in counts.items():
            entry = self.terms.get(term)
            if entry is None:
                continue
            value = (1.0 + math.log(count)) * entry[0]
            norm += value * value
            for c, weight in enumerate(entry[1]):
                totals[c] += weight * value
        if norm == 0.0:
            return totals
        scale = 1.0 / math.sqrt(norm)
        return [t * scale for t in totals]


class Linear:
    """A fitted pipeline of vectorizers (a FeatureUnion or one) and a logistic regression."""

    def __init__(self, vectorizers: list[Any], regression: Any) -> None:
        coefficients = regression.coef_
        self.features = []
        start = 0
        for vectorizer in vectorizers:
            width = len(vectorizer.vocabulary_)
            self.features.append(Features(vectorizer, coefficients[:, start : start + width]))
            start += width
        self.intercepts = [float(b) for b in regression.intercept_]
        self.labels = [str(label) for label in regression.classes_]

    def scores(self, text: str) -> list[float]:
        totals = list(self.intercepts)
        for features in self.features:
            for c, value in enumerate(features.scores(text)):
                totals[c] += value
        return totals


class Model:
    def __init__(self, danger: Linear, kinds: Linear) -> None:
        self.danger = danger
        self.kinds = kinds

    @classmethod
    def train(cls, examples: list[Example], c: float = 4.0) -> Model:
        # Imported here: scikit-learn takes a moment to import, and only training needs it.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [normalise(e.text) for e in examples]
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-z']+")
        matrix = _stack([chars.fit_transform(texts), words.fit_transform(texts)])
        danger = LogisticRegression(C=c, max_iter=2000).fit(matrix, [e.danger for e in examples])

        danger_texts = [t for t, e in zip(texts, examples, strict=True) if e.danger]
        kind_chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        kinds = LogisticRegression(C=c, max_iter=2000).fit(
            kind_chars.fit_transform(danger_texts), [e.kind for e in examples if e.danger]
        )
        return cls(Linear([chars, words], danger), Linear([kind_chars], kinds))

    @classmethod
    def load(cls, path: Path = HERE / "development.yaml") -> Model:
        return cls.train(load_set(path))

    def score(self, clean: str) -> Score:
        """`clean` is the normalised message."""
        logit = self.danger.scores(clean)[0]  # binary: one row of weights, for True
        danger = 1.0 / (1.0 + math.exp(-logit)) if logit > -500 else 0.0
        kind_scores = self.kinds.scores(clean)
        kind = self.kinds.labels[max(range(len(kind_scores)), key=kind_scores.__getitem__)]
        return Score(danger, kind)


def _stack(parts: list[Any]) -> Any:
    from scipy.sparse import hstack

    return hstack(parts).tocsr()
