"""How a message becomes numbers: n-gram analyzers written out as scikit-learn cuts them,
and a fitted TF-IDF vectorizer's tables looked up without scikit-learn (model.py says why)."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, lru_cache
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


# How an n-gram becomes a 64-bit key, the same in every process (Python's own string hash is
# salted per process, so a key made at training could not be looked up at run time): its
# first KEYED code points times fixed odd multipliers, plus its length, summed modulo 2^64
# and mixed (splitmix64's finaliser). Vectorised in NumPy, it costs what hash() did per gram.
KEYED = 48


# The multipliers: `np.random.default_rng(SEED).integers(1, 2**63, size=KEYED + 1,
# dtype=np.uint64) | 1`, written out because importing numpy.random costs the first screen
# after a start 30 ms (tests/safety/test_safety_detect.py checks they are still those numbers).
SEED = 20261206
MULTIPLIERS = (
    7859827912569807325, 2382288484391340671, 7527257561959509777, 1386886745041835419,
    2518720364343514409, 6894581436763098671, 7320034718937316135, 2189026229870125003,
    7174286651180326569, 2268803085740768201, 909898137080739321, 6644354587774973135,
    2655481122217459215, 8473179864406346539, 6607163571824200319, 6855449482137336441,
    5292444900599002421, 722886833627111283, 3966754025733972405, 8050987259402364673,
    3969679330044768307, 6770225998327685289, 3532073880237603107, 2335385626987834715,
    6727950863144554281, 5609984786010708053, 3476186670140746655, 1526885558441575987,
    3612730558453658927, 8021771936165947215, 9038889326574535151, 851284792812963379,
    7158262291992144475, 1102345025763405521, 4638184468566148373, 3802588379702110729,
    2027678701535513051, 5214332474306252311, 537711450130808583, 7683683801711389079,
    993680710503381299, 6146368910373077867, 259576972759555163, 4071606801129685755,
    3401409763211179907, 6871407233778959705, 2363536339933396383, 7711166735675448329,
    2676362162700805203,
)  # fmt: skip


@cache
def _multipliers() -> Any:
    import numpy as np  # not at import: a process that never screens never loads NumPy

    return np.array(MULTIPLIERS, dtype=np.uint64)


def keys_of(grams: list[str]) -> Any:
    """Each gram's 64-bit key (int64), as `Features` stores its terms."""
    import numpy as np

    if not grams:
        return np.zeros(0, dtype=np.int64)
    lengths = np.fromiter(map(len, grams), dtype=np.uint64, count=len(grams))
    if int(lengths.max()) > KEYED:
        grams = [g[:KEYED] for g in grams]  # the rest of a very long token counts by length
    codes = np.array(grams)  # fixed-width UTF-32: one row of code points a gram
    width = codes.dtype.itemsize // 4
    points = codes.view(np.uint32).reshape(len(grams), width).astype(np.uint64)
    multipliers = _multipliers()
    return _mixed(points @ multipliers[:width] + lengths * multipliers[KEYED])  # wraps mod 2^64


def _mixed(summed: Any) -> Any:
    """splitmix64's finaliser over the summed code points (uint64, in place) as int64 keys."""
    import numpy as np

    summed ^= summed >> np.uint64(30)
    summed *= np.uint64(0xBF58476D1CE4E5B9)
    summed ^= summed >> np.uint64(27)
    summed *= np.uint64(0x94D049BB133111EB)
    summed ^= summed >> np.uint64(31)
    return summed.view(np.int64)


def window_keys(analyzer: Analyzer, text: str) -> Any:
    """The keys of a `char` or `char_wb` analyzer's n-grams of `text` (one per occurrence),
    made from the text's code points without making a string per gram: each gram's key is
    a sum over its positions (keys_of), so every window of one length is a few array
    additions over the whole text. Equal to `keys_of(analyzer(text))` (a test holds it)."""
    import numpy as np

    text = WHITE.sub(" ", text.lower())
    word_of = None  # char_wb: which padded word each position is in
    if analyzer.kind == "char_wb":
        words = text.split()
        text = "".join(f" {word} " for word in words)
        word_of = np.repeat(np.arange(len(words)), [len(word) + 2 for word in words])
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    multipliers, size = _multipliers(), len(points)
    windows = []
    for n in range(analyzer.low, min(analyzer.high, size) + 1):
        count = size - n + 1
        summed = points[:count] * multipliers[0]
        for j in range(1, n):
            summed += points[j : j + count] * multipliers[j]
        summed += np.full(count, n, dtype=np.uint64) * multipliers[KEYED]
        if word_of is not None:  # char_wb: only windows inside one padded word
            summed = summed[word_of[:count] == word_of[n - 1 :]]
        windows.append(summed)
    if not windows:
        return np.zeros(0, dtype=np.int64)
    return _mixed(np.concatenate(windows))


@lru_cache(maxsize=512)
def _grams(analyzer: Analyzer, text: str) -> tuple[Any, Any]:
    """A piece's distinct n-grams as sorted keys and their counts, made once for every
    language's classifier that reads it."""
    import numpy as np

    if analyzer.kind == "word":  # a few tokens: their strings cost little
        counts = Counter(analyzer(text))
        keys = keys_of(list(counts))
        order = np.argsort(keys)
        tally = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return keys[order], tally[order]
    # Sorted: each table's search then walks forward instead of jumping about.
    distinct, times = np.unique(window_keys(analyzer, text), return_counts=True)
    return distinct, times.astype(np.float64)


class Features:
    """One fitted TfidfVectorizer (sublinear tf, l2 norm) as an analyzer and weight tables:
    a term's idf and its weight per class, found by the term's key (NumPy: a message's few
    hundred n-grams are looked up and summed at once).

    Terms are kept as 64-bit keys (`keys_of`) in a sorted array, not as strings: the four
    languages' classifiers hold 760,000 terms, which as Python strings would cost a start
    half a second and leave 100 MB of freed but scattered memory in the process. The file
    holds the keys, so reading it makes no Python object per term. Two terms of one table
    sharing a key (a 1 in 10^13 chance) is refused when the model is made.
    """

    def __init__(self, analyzer: Analyzer, keys: Any, idf: Any, weights: Any) -> None:
        import numpy as np

        self.analyse = analyzer
        self.classes = int(weights.shape[1])
        keys, idf, weights = np.asarray(keys, dtype=np.int64), np.asarray(idf), np.asarray(weights)
        if len(keys) > 1 and not bool((keys[1:] >= keys[:-1]).all()):  # a file's are sorted
            order = np.argsort(keys)
            keys, idf, weights = keys[order], idf[order], weights[order]
        self.keys, self.idf, self.weights = keys, idf, weights
        if len(keys) > 1 and bool((keys[1:] == keys[:-1]).any()):
            raise ValueError("two terms share a key: change the seed of _multipliers")

    @classmethod
    def fitted(cls, analyzer: Analyzer, vectorizer: Any, coefficients: Any) -> Features:
        import numpy as np

        vocabulary = vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        return cls(analyzer, keys_of(terms), vectorizer.idf_, np.asarray(coefficients).T)

    def scores(self, text: str) -> list[float]:
        import numpy as np

        keys, counts = _grams(self.analyse, text)
        if not len(keys) or not len(self.keys):
            return [0.0] * self.classes
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        known = self.keys[at] == keys
        if not known.any():
            return [0.0] * self.classes
        rows = at[known]
        values = (1.0 + np.log(counts[known])) * self.idf[rows]
        norm = float(np.sqrt(values @ values))
        return [float(x) for x in (values @ self.weights[rows]) / norm]

    def to_dict(self, arrays: dict[str, Any]) -> dict[str, Any]:
        """The table's shape; its arrays go into `arrays` (stored apart, as binary)."""
        return {
            "analyzer": [self.analyse.kind, self.analyse.low, self.analyse.high],
            "classes": self.classes,
            "keys": _stored(arrays, self.keys, "<i8"),
            "idf": _stored(arrays, self.idf, "<f4"),
            "weights": _stored(arrays, self.weights.ravel(), "<f4"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], arrays: Any) -> Features:
        kind, low, high = data["analyzer"]
        classes = int(data["classes"])
        return cls(
            Analyzer(kind, low, high),
            arrays[data["keys"]],
            arrays[data["idf"]],
            arrays[data["weights"]].reshape(-1, classes),
        )


def _stored(arrays: dict[str, Any], values: Any, dtype: str) -> str:
    """`values` added to `arrays` under a new name, which is returned."""
    import numpy as np

    name = f"a{len(arrays)}"
    arrays[name] = np.asarray(values, dtype=dtype)
    return name
