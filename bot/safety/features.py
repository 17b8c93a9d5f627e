"""How a message becomes numbers: n-gram analyzers written out as scikit-learn cuts them,
and a fitted TF-IDF vectorizer's tables looked up without scikit-learn (model.py says why)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

WORD_PATTERN = r"(?u)\b\w\w+\b"
WHITE = re.compile(r"\s\s+")


class Analyzer:
    """scikit-learn's `char`, `char_wb` and `word` analyzers (lowercase, no accent
    stripping), written out so that scoring needs no scikit-learn."""

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
        if self.kind == "char":
            # across word boundaries: "hit me" keeps "t me", which char_wb cuts apart
            text = WHITE.sub(" ", text)
            return [
                text[i : i + n]
                for n in range(self.low, min(self.high, len(text)) + 1)
                for i in range(len(text) - n + 1)
            ]
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
            analyzer=self.kind, ngram_range=(self.low, self.high), sublinear_tf=True, min_df=2
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
