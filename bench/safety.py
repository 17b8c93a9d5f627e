"""Precision and recall of the safety detector, with 95% confidence intervals.

python bench/safety.py

Two sets, reported apart: `tests/data/safety_examples.yaml`, the examples the signal list
was written and widened with (so its figures are NOT held-out), and
`tests/data/safety_heldout.yaml`, written before any tuning for issue 10 and frozen (its
hash is checked in .ci/run): only its figures say how the detector does on messages it
was not made from. Misses are listed by kind and style.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety.detect import Detector


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound for small sets and extreme values)."""
    if total == 0:
        return 0.0, 0.0
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def report(
    name: str, danger: list[dict[str, str]], safe: list[dict[str, str]], show_texts: bool
) -> None:
    detector = Detector.load()
    caught = [d for d in danger if detector.check(d["text"])]
    missed = [d for d in danger if not detector.check(d["text"])]
    alarms = [s for s in safe if detector.check(s["text"])]
    tp, fn, fp = len(caught), len(missed), len(alarms)
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    r_low, r_high = wilson(tp, tp + fn)
    p_low, p_high = wilson(tp, tp + fp)
    print(f"\n{name}: {len(danger)} danger, {len(safe)} safe messages")
    print(f"  recall    {recall:.3f}  (95% CI {r_low:.3f}-{r_high:.3f}; {tp} of {tp + fn})")
    print(f"  precision {precision:.3f}  (95% CI {p_low:.3f}-{p_high:.3f}; {fp} false alarms)")
    if missed:
        kinds = Counter(d.get("kind", "?") for d in missed)
        styles = Counter(d.get("style", "?") for d in missed)
        print("  misses by kind:  " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        print("  misses by style: " + ", ".join(f"{k} {n}" for k, n in styles.most_common()))
    if alarms:
        kinds = Counter(s.get("kind", "?") for s in alarms)
        print("  false alarms by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    if show_texts:  # never for the held-out set: reading its misses is how one tunes on it
        for item in missed:
            print(f"  missed: {item['text']}")
        for item in alarms:
            print(f"  false alarm: {item['text']}")


def main() -> None:
    data = ROOT / "tests" / "data"
    examples = yaml.safe_load((data / "safety_examples.yaml").read_text())
    report(
        "examples the list was written with (NOT held-out)",
        [{"text": t} for t in examples["positive"]],
        [{"text": t} for t in examples["negative"]],
        show_texts=True,
    )
    heldout = yaml.safe_load((data / "safety_heldout.yaml").read_text())
    report("held-out set (frozen, never tuned on)", heldout["danger"], heldout["safe"], False)


if __name__ == "__main__":
    main()
