"""Labelled message sets (development and held-out), read the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.yaml_files import read_yaml


@dataclass(frozen=True)
class Example:
    text: str
    danger: bool
    kind: str  # a danger kind (self_harm, violence, coercion, fear) or a safe one (idiom...)
    style: str


def load_set(path: Path) -> list[Example]:
    """A set written either as lists of {kind, style, text} or nested kind -> style -> texts."""
    data = read_yaml(path)
    examples = []
    for side in ("danger", "safe"):
        part = data[side]
        if isinstance(part, list):
            for item in part:
                examples.append(
                    Example(item["text"], side == "danger", item["kind"], item["style"])
                )
        else:
            for kind, styles in part.items():
                for style, texts in styles.items():
                    examples.extend(Example(str(t), side == "danger", kind, style) for t in texts)
    return examples
