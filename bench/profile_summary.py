"""Summarise a py-spy raw profile (from `flow_steps.py --profile FILE`): where time goes.

python bench/profile_summary.py FILE [--top 40]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

FRAME = re.compile(r"(.*) \((.*?):\d+\)$")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    with open(args.file, encoding="utf-8") as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            total += samples
            seen: set[str] = set()
            for frame in stack.split(";"):
                match = FRAME.match(frame)
                key = f"{match.group(1)} [{match.group(2)}]" if match else frame
                if key not in seen:
                    inclusive[key] += samples
                    seen.add(key)
            leaf = FRAME.match(stack.split(";")[-1])
            by_package[(leaf.group(2) if leaf else "?").split("/")[0]] += samples
    print(f"{total} samples")
    print("\nself time by package (leaf frames):")
    for name, samples in by_package.most_common(12):
        print(f"{100 * samples / total:5.1f}%  {name}")
    print("\ninclusive time, our code and the big callers:")
    for name, samples in inclusive.most_common(args.top * 4):
        if "[bot/" in name or "Session" in name or "_post" in name or "answer" in name:
            print(f"{100 * samples / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
