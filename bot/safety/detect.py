"""Spotting signs that coaching must stop: a curated list of phrases, not a model.

The list, its rules and its everyday false friends live in `signals.yaml`; the test set
in `tests/data/safety_examples.yaml` says how well it does (see `bench/safety.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
NEGATIONS = {"never", "not", "no", "nobody", "hardly", "longer"}
WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Signal:
    kind: str  # self_harm, violence, coercion, fear
    negatable: bool
    pattern: re.Pattern[str]


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


class Detector:
    def __init__(self, signals: list[Signal], idioms: list[re.Pattern[str]]) -> None:
        self.signals = signals
        self.idioms = idioms

    @classmethod
    def load(cls, path: Path = HERE / "signals.yaml") -> Detector:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        signals = [
            Signal(kind, bool(spec.get("negatable")), re.compile(pattern))
            for kind, spec in data["signals"].items()
            for pattern in spec["patterns"]
        ]
        return cls(signals, [re.compile(p) for p in data.get("idioms", [])])

    def check(self, text: str) -> str | None:
        """The kind of the first sign found in `text`, or None."""
        clean = normalise(text)
        idiom_spans = [m.span() for idiom in self.idioms for m in idiom.finditer(clean)]
        for signal in self.signals:
            for match in signal.pattern.finditer(clean):
                start, end = match.span()
                if any(a < end and start < b for a, b in idiom_spans):  # overlaps an idiom
                    continue
                if signal.negatable and _negated(clean[:start]):
                    continue
                return signal.kind
        return None


def _negated(before: str) -> bool:
    words = WORD.findall(before)[-3:]
    return any(
        w in NEGATIONS or w.endswith("n't") or (w.endswith("nt") and len(w) > 3) for w in words
    )


@dataclass(frozen=True)
class Helplines:
    emergency: str
    lines: list[str]


def helplines_for(language_code: str | None, path: Path = HERE / "helplines.yaml") -> Helplines:
    """The entry for the person's country where their language code names one."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    code = (language_code or "").lower()
    country = data["languages"].get(code) or data["languages"].get(code.split("-")[0])
    entry = data["countries"].get(country or "international") or data["countries"]["international"]
    return Helplines(emergency=entry["emergency"], lines=list(entry["lines"]))
