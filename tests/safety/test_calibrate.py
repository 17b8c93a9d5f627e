"""Choosing when each language's classifier asks (bot/safety/calibrate.py)."""

from __future__ import annotations

from bot.safety.calibrate import FRESH, STEPS, balanced
from bot.safety.detect import Reading
from bot.safety.model import Score


def _read(danger: bool, score: float) -> tuple[bool, Reading]:
    return danger, Reading(None, None, {"en": Score(score, "violence" if danger else "")})


def test_the_threshold_is_the_balance_across_writers_less_what_new_writers_showed() -> None:
    # Danger scores 0.9 and 0.8, safe ones 0.5 and 0.3: every threshold above 0.5 and up to
    # 0.8 is perfect across writers; the lowest is taken, then lowered by FRESH.
    read = [_read(True, 0.9), _read(True, 0.8), _read(False, 0.5), _read(False, 0.3)]
    assert balanced("en", read) == round(0.51 - FRESH, 2)


def test_the_threshold_never_falls_below_the_lowest_step() -> None:
    read = [_read(True, 0.3), _read(False, 0.1)]
    assert balanced("en", read) >= STEPS[0]
