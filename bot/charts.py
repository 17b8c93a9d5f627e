"""Pictures the bot sends: drawn by the sender after the commit, never inside a step."""

from __future__ import annotations

import io
from typing import Any


def trend_chart(rows: list[dict[str, Any]]) -> bytes:
    """A small PNG: spectrum position and the three needs over time."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5, 4), dpi=100, sharex=True)
    xs = list(range(1, len(rows) + 1))
    top.axhspan(-0.34, 0.34, color="#d9f2e3")
    top.plot(xs, [r["spectrum"] for r in rows], marker="o", color="#2f7d55")
    top.set_ylim(-1.05, 1.05)
    top.set_yticks([-1, 0, 1], ["codependent", "interdependent", "hyper-independent"])
    top.set_title("Your check-ins")
    for key, colour in (
        ("autonomy", "#3b6ea5"),
        ("competence", "#c97b2a"),
        ("relatedness", "#b3407a"),
    ):
        bottom.plot(xs, [r[key] for r in rows], marker=".", label=key, color=colour)
    bottom.set_ylim(0.5, 5.5)
    bottom.set_xticks(xs)
    bottom.set_xlabel("check-in")
    bottom.legend(loc="lower left", fontsize="small", ncol=3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
