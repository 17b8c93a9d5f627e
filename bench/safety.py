"""Precision and recall of the safety detector on its example set.

python bench/safety.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety.detect import Detector


def main() -> None:
    examples = yaml.safe_load((ROOT / "tests" / "data" / "safety_examples.yaml").read_text())
    detector = Detector.load()
    caught = [t for t in examples["positive"] if detector.check(t)]
    false_alarms = [t for t in examples["negative"] if detector.check(t)]
    tp, fn = len(caught), len(examples["positive"]) - len(caught)
    fp, tn = len(false_alarms), len(examples["negative"]) - len(false_alarms)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"{len(examples['positive'])} positive, {len(examples['negative'])} negative examples")
    print(f"true positives {tp}, false negatives {fn}, false positives {fp}, true negatives {tn}")
    print(f"precision {precision:.3f}, recall {recall:.3f}")
    for text in false_alarms:
        print(f"  false alarm: {text}")
    for text in set(examples["positive"]) - set(caught):
        print(f"  missed: {text}")


if __name__ == "__main__":
    main()
