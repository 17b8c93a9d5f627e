"""The safety detector on its example set: every sign caught, everyday talk left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.safety.detect import Detector, helplines_for

EXAMPLES = yaml.safe_load((Path(__file__).parent / "data" / "safety_examples.yaml").read_text())
DETECTOR = Detector.load()


def test_the_set_is_big_enough() -> None:
    assert len(EXAMPLES["positive"]) >= 40 and len(EXAMPLES["negative"]) >= 40


@pytest.mark.parametrize("text", EXAMPLES["positive"])
def test_signs_are_caught(text: str) -> None:
    assert DETECTOR.check(text) is not None


@pytest.mark.parametrize("text", EXAMPLES["negative"])
def test_everyday_talk_is_left_alone(text: str) -> None:
    assert DETECTOR.check(text) is None


def test_kinds() -> None:
    assert DETECTOR.check("I want to kill myself") == "self_harm"
    assert DETECTOR.check("he hits me") == "violence"
    assert DETECTOR.check("he won't let me see my friends") == "coercion"
    assert DETECTOR.check("I'm afraid of him") == "fear"


@pytest.mark.parametrize(
    ("code", "emergency"),
    [
        ("de", "112"),
        ("en-GB", "999"),
        ("en-us", "911"),
        ("fr-FR", "112"),
        ("en", "local"),
        (None, "local"),
        ("xx", "local"),
    ],
)
def test_helplines_follow_the_language_code(code: str | None, emergency: str) -> None:
    entry = helplines_for(code)
    assert emergency in entry.emergency
    assert len(entry.lines) >= 2
