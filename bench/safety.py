"""Precision and recall of the safety detector, with 95% confidence intervals, and its speed.

python bench/safety.py            # both sets, the development set's misses listed
python bench/safety.py --sweep    # the classifier's thresholds tried on the development set
python bench/safety.py --new FILE:LANG ...  # new writers' files, before anything learns from them

Two sets, reported apart:
- `bot/safety/development.yaml`: the messages the rules were written with and the classifier
  is trained on. Its figures are NOT held-out. The rules alone are shown as they are (tuned
  on it); rules + classifier are shown by 5-fold cross-validation (the classifier is retrained
  without the fold it is judged on; the rules cannot be, so this is still optimistic).
- `tests/data/safety_heldout.yaml`: written before any tuning and frozen (its hash is checked in
  .ci/run): only its figures say how the detector does on messages it was not made from.
  Its misses are shown only as counts by kind and style: reading them is tuning on them.

"Caught" means the bot showed help: a full answer or "Are you safe right now?" (asks are
counted separately). Speed: the mean and 99th percentile time to screen one message.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 5  # of development writers, for the cross-writer figure
sys.path.insert(0, str(ROOT))

from bot.safety.detect import ASK, Detector, Reading, decide
from bot.safety.learning import development_files, shipped_languages
from bot.safety.model import Model, Trained
from bot.safety.normalise import normalise
from bot.safety.reading import READER_OF
from bot.safety.rules import Rules
from bot.safety.sets import Example, load_set

DEVELOPMENT = ROOT / "bot" / "safety" / "development.yaml"
HELDOUT = ROOT / "tests" / "data" / "safety_heldout.yaml"


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound for small sets and extreme values)."""
    if total == 0:
        return 0.0, 0.0
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def judged(pairs: list[tuple[Example, Detector]], lang: str = "en") -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {
        "caught": [],
        "missed": [],
        "alarms": [],
        "asks": [],
        "kind": [],
    }
    for example, detector in pairs:
        finding = detector.screen(example.text, lang)
        if finding and not finding.sure:
            out["asks"].append(example)
        if example.danger:
            out["caught" if finding else "missed"].append(example)
            if finding and finding.kind != example.kind:
                out["kind"].append(example)
        elif finding:
            out["alarms"].append(example)
    return out


def report(name: str, result: dict[str, list[Example]], show_texts: bool) -> None:
    tp, fn, fp = len(result["caught"]), len(result["missed"]), len(result["alarms"])
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    r_low, r_high = wilson(tp, tp + fn)
    p_low, p_high = wilson(tp, tp + fp)
    print(f"\n{name}")
    print(f"  recall    {recall:.3f}  (95% CI {r_low:.3f}-{r_high:.3f}; {tp} of {tp + fn})")
    print(f"  precision {precision:.3f}  (95% CI {p_low:.3f}-{p_high:.3f}; {fp} false alarms)")
    print(
        f"  asked 'Are you safe right now?' {len(result['asks'])} times;"
        f" caught under another kind {len(result['kind'])}"
    )
    if result["missed"]:
        kinds = Counter(e.kind for e in result["missed"])
        styles = Counter(e.style for e in result["missed"])
        print("  misses by kind:  " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        print("  misses by style: " + ", ".join(f"{k} {n}" for k, n in styles.most_common()))
    if result["alarms"]:
        kinds = Counter(e.kind for e in result["alarms"])
        print("  false alarms by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    if show_texts:  # never for the held-out set: reading its misses is how one tunes on it
        for e in result["missed"]:
            print(f"  missed ({e.kind}, {e.style}): {e.text}")
        for e in result["alarms"]:
            print(f"  false alarm ({e.kind}): {e.text}")


def folds(examples: list[Example], rules: Rules, k: int = 5, ask: float = ASK):
    """Each example paired with a detector whose classifier never saw it."""
    order = list(range(len(examples)))
    random.Random(7).shuffle(order)
    pairs = []
    for fold in range(k):
        held = set(order[fold::k])
        model = Model.train([e for i, e in enumerate(examples) if i not in held])
        detector = Detector(rules, model, ask)
        pairs.extend((examples[i], detector) for i in sorted(held))
    return pairs


def sweep(development: list[Example]) -> None:
    """The classifier alone by 5-fold cross-validation on the development set, per threshold."""
    order = list(range(len(development)))
    random.Random(7).shuffle(order)
    scores = [0.0] * len(development)
    for fold in range(5):
        held = set(order[fold::5])
        model = Model.train([e for i, e in enumerate(development) if i not in held])
        for i in held:
            scores[i] = model.score(normalise(development[i].text)).danger
    danger = sum(e.danger for e in development)
    for threshold in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        tp = sum(1 for e, s in zip(development, scores, strict=True) if e.danger and s >= threshold)
        fp = sum(
            1 for e, s in zip(development, scores, strict=True) if not e.danger and s >= threshold
        )
        safe = len(development) - danger
        print(
            f"classifier alone at {threshold:.2f}: recall {tp / danger:.3f},"
            f" precision {tp / max(1, tp + fp):.3f},"
            f" flags {fp / safe:.1%} of the safe messages ({fp})"
        )


FULL_OF_SIGNS = {
    "en": "he hit me again and i am scared of him and ",
    "de": "er schlägt mich und ich habe angst vor ihm und ",
    "es": "me pegó otra vez y le tengo miedo y ",
    "ar": "ضربني مرة ثانية وأنا خايفة منه و ",
}


def speed(detector: Detector, texts: list[str]) -> None:
    for text in texts[:50]:
        detector.screen(text)  # warm up
    times = []
    for text in texts:
        start = time.perf_counter()
        detector.screen(text)
        times.append(time.perf_counter() - start)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    long_text = "I want us to talk about the chores and how we split them. " * 340  # ~20,000 chars
    start = time.perf_counter()
    detector.screen(long_text)
    long_ms = (time.perf_counter() - start) * 1000
    print(
        f"\nspeed: {len(times)} messages, mean {statistics.mean(times) * 1000:.2f} ms,"
        f" p99 {p99 * 1000:.2f} ms per message; a 20,000-character message {long_ms:.1f} ms"
    )
    # The worst case: 20,000 characters full of signs, each one read for negation and distance.
    worst = []
    for lang, sign in FULL_OF_SIGNS.items():
        detector.screen(sign, lang)  # the language's patterns compile on first use
        text = (sign * (20_000 // len(sign) + 1))[:20_000]
        start = time.perf_counter()
        detector.screen(text, lang)
        worst.append(f"{lang} {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"20,000 characters full of signs, no full stop: {', '.join(worst)}")


SHIFTS = (-0.2, -0.15, -0.1, -0.05, 0.0, 0.05)


def fresh(detector: Detector, files: list[tuple[Path, str]]) -> None:
    """Writers' files read by the shipped detector before they join the development sets:
    the nearest thing to an outside set. Per file at the shipped thresholds, then per
    language with every classifier's threshold moved by each of SHIFTS (how the balance
    chosen across the development writers holds up on people none of it was made from)."""
    trained = detector.model
    assert trained is not None
    readings: dict[str, list[tuple[bool, Reading | None]]] = {}
    for path, lang in files:
        read = [(e.danger, detector.read(e.text, lang)) for e in load_set(path)]
        readings.setdefault(lang, []).extend(read)
        print(f"{path.name} ({lang}): {_figures(read, trained.asks)}")
    for lang, read in sorted(readings.items()):
        for shift in SHIFTS:
            asks = {x: at + shift for x, at in trained.asks.items()}
            at = asks.get(lang, ASK)
            print(f"{lang} asks at {at:.2f} ({shift:+.2f}): {_figures(read, asks)}")


def _figures(read: list[tuple[bool, Reading | None]], asks: dict[str, float]) -> str:
    danger = sum(d for d, _ in read)
    flagged = [d for d, r in read if decide(r, asks) is not None]
    caught, alarms = sum(flagged), len(flagged) - sum(flagged)
    low, high = wilson(caught, danger)
    precision = caught / len(flagged) if flagged else 0.0
    return (
        f"recall {caught / max(danger, 1):.3f} ({low:.3f}-{high:.3f}) precision {precision:.3f},"
        f" {alarms} false alarms of {len(read) - danger}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", action="store_true", help="try the classifier's thresholds")
    parser.add_argument("--lang", action="append", help="only these languages")
    parser.add_argument(
        "--new", nargs="+", metavar="FILE:LANG", help="writers' files nothing has learnt from"
    )
    args = parser.parse_args()
    rules = Rules.load()
    if args.sweep:
        sweep(load_set(DEVELOPMENT))
        return
    if args.new:
        fresh(Detector.load(), [(Path(a.rsplit(":", 1)[0]), a.rsplit(":", 1)[1]) for a in args.new])
        return
    started = time.perf_counter()
    detector = Detector.load()
    detector.screen("warm")  # waits for the shipped classifiers to be read
    print(f"detector ready (rules, shipped classifiers) in {time.perf_counter() - started:.2f} s")
    everything: list[str] = []
    for lang in args.lang or shipped_languages():
        everything += language(lang, detector, rules)
    speed(detector, everything * 2)


def language(lang: str, detector: Detector, rules: Rules) -> list[str]:
    """One language: its development sets (NOT held-out), a cross-writer figure, the
    independent held-out sets (each writer, then together) and the older same-hand set."""
    trained = detector.model
    assert trained is not None
    files = development_files(lang)
    development = [e for path in files for e in load_set(path)]
    d_danger = sum(e.danger for e in development)
    print(
        f"\n===== {lang}: development {d_danger} danger, {len(development) - d_danger} safe"
        f" ({', '.join(p.name for p in files)}); ask at {trained.asks.get(lang)}"
    )
    report(
        f"{lang} development, the shipped detector (trained on it: NOT held-out)",
        judged([(e, detector) for e in development], lang),
        show_texts=False,
    )
    # Cross-writer: the writers' files in five folds; the classifier trained without a fold's
    # writers, judged on them (the rules stay: they were written with the older files, so this
    # flatters those). Five trainings a language, not one a writer: 82 files took 40 minutes.
    writers = [path for path in files if len(load_set(path)) >= 100]
    folds = [writers[i::FOLDS] for i in range(FOLDS) if writers[i::FOLDS]]
    pooled: dict[str, list[Example]] = {}
    for fold in folds:
        judged_set = [e for path in fold for e in load_set(path)]
        rest = [e for path in files if path not in fold for e in load_set(path)]
        others = {x: r for x, r in detector.others.items() if x == lang}
        model = Model.train(rest, reader=READER_OF.get(lang, "plain"))
        alone = Detector(rules, Trained({lang: model}, None, "", trained.asks), others=others)
        found = judged([(e, alone) for e in judged_set], lang)
        for key, examples in found.items():
            pooled.setdefault(key, []).extend(examples)
        names = ", ".join(path.stem.removeprefix("development").lstrip("_") or "0" for path in fold)
        report(f"{lang} cross-writer: trained without writers {names}", found, show_texts=False)
    if len(folds) > 1:
        report(f"{lang} cross-writer, every fold together", pooled, show_texts=False)
    heldout_files = sorted((ROOT / "tests" / "data" / "heldout").glob(f"*_{lang}.yaml"))
    together: list[Example] = []
    for path in heldout_files:
        examples = load_set(path)
        together += examples
        report(
            f"{lang} independent held-out, writer {path.stem.split('_')[0]} (the bot as shipped)",
            judged([(e, detector) for e in examples], lang),
            show_texts=False,
        )
    if together:
        report(
            f"{lang} independent held-out, all writers ({len(together)} messages)",
            judged([(e, detector) for e in together], lang),
            show_texts=False,
        )
    old = (
        ROOT
        / "tests"
        / "data"
        / ("safety_heldout.yaml" if lang == "en" else f"safety_heldout_{lang}.yaml")
    )
    if old.exists():
        report(
            f"{lang} older held-out (written by the hand that wrote the rules: optimistic)",
            judged([(e, detector) for e in load_set(old)], lang),
            show_texts=False,
        )
    return [e.text for e in development + together]


if __name__ == "__main__":
    main()
