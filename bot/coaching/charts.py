"""Pictures the bot sends: drawn by the sender after the commit, never inside a step."""

from __future__ import annotations

import io
from typing import Any

ENGLISH = [
    "Your check-ins",
    "codependent",
    "interdependent",
    "hyper-independent",
    "autonomy",
    "competence",
    "relatedness",
    "check-in",
]


def _shaped(text: str) -> str:
    """Matplotlib draws letters one by one, left to right: Arabic is joined into its
    connected forms and put in visual order first (arabic-reshaper, python-bidi)."""
    if not any("\u0600" <= ch <= "\u06ff" for ch in text):
        return text
    from arabic_reshaper import reshape
    from bidi import get_display

    return str(get_display(reshape(text)))


def trend_chart(rows: list[dict[str, Any]], labels: list[str] | None = None) -> bytes:
    """A small PNG: spectrum position and the three needs over time. `labels`: its words
    (prompts/<lang>/common/trend_chart_labels.j2), English when missing."""
    words = [_shaped(w) for w in labels] if labels and len(labels) == len(ENGLISH) else ENGLISH
    title, fused, middle, walled, autonomy, competence, relatedness, axis = words
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5, 4), dpi=100, sharex=True)
    xs = list(range(1, len(rows) + 1))
    top.axhspan(-0.34, 0.34, color="#d9f2e3")
    top.plot(xs, [r["spectrum"] for r in rows], marker="o", color="#2f7d55")
    top.set_ylim(-1.05, 1.05)
    top.set_yticks([-1, 0, 1], [fused, middle, walled])
    top.set_title(title)
    for key, name, colour in (
        ("autonomy", autonomy, "#3b6ea5"),
        ("competence", competence, "#c97b2a"),
        ("relatedness", relatedness, "#b3407a"),
    ):
        bottom.plot(xs, [r[key] for r in rows], marker=".", label=name, color=colour)
    bottom.set_ylim(0.5, 5.5)
    bottom.set_xticks(xs)
    bottom.set_xlabel(axis)
    bottom.legend(loc="lower left", fontsize="small", ncol=3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
