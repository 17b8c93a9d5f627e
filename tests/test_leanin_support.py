"""Lean in on a controlled clock: "how did it feel?" comes hours after "I'm on it" (after quiet
hours), the supporter's guidance follows the kind of support asked for, and the result goes
to the supporter alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.coaching.services import Services
from bot.core.outbox import Outgoing
from tests.test_nudges import ALEX, SAM, Clock, event, press, run_clock, world
from tests.test_nudges import pair as pair_services

__all__ = ["world"]


def let_go(services: Services, clock: Clock, kind_label: str) -> list[Outgoing]:
    """Alex lets go with a struggle and a kind of support; Sam leans in and hears the answer.
    Returns what Sam got after Alex's answer."""
    reply = services.flows.start(event(ALEX, clock.now), services.flows.flows["letgo"])
    msgs = press(services, ALEX, reply.messages, "I have something", clock.now)
    msgs = services.text(event(ALEX, clock.now, text="Work is overwhelming")).messages
    msgs = press(services, ALEX, msgs, kind_label, clock.now)
    msgs = press(services, ALEX, msgs, "Send it", clock.now)
    msgs = press(services, SAM, msgs, "Ask what support looks like", clock.now)
    return services.text(event(ALEX, clock.now, text="Just be around tonight")).messages


def test_how_did_it_feel_comes_hours_later_and_only_the_supporter_hears_the_result(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    to_sam = let_go(services, clock, "Just listen")
    on_it = press(services, SAM, to_sam, "I'm on it 💛", clock.now)
    assert [m.chat_id for m in on_it] == [SAM.id] and "In a few hours" in on_it[0].text
    sent = run_clock(services, clock, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    asked = [(t, m) for t, d in sent for m in d.messages if "How did it feel" in m.text]
    assert [(t.strftime("%H:%M"), m.chat_id) for t, m in asked] == [("15:00", ALEX.id)]
    result = press(services, ALEX, [asked[0][1]], "A bit", clock.now)
    to_sam_now = [m.text for m in result if m.chat_id == SAM.id]
    to_alex_now = [m.text for m in result if m.chat_id == ALEX.id]
    assert to_sam_now == [
        "Alex says your support helped a bit. Support is learned together: next time, ask"
        " again what it looks like for them."
    ]
    assert to_alex_now == ["Thank you. I've told Sam."]


def test_a_late_i_am_on_it_is_asked_about_after_quiet_hours(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 20, 30, tzinfo=UTC)  # 3 hours on is 23:30, quiet
    to_sam = let_go(services, clock, "Some company")
    press(services, SAM, to_sam, "I'm on it 💛", clock.now)
    sent = run_clock(services, clock, clock.now + timedelta(hours=14))
    asked = [t for t, d in sent for m in d.messages if "How did it feel" in m.text]
    assert [t.strftime("%d %H:%M") for t in asked] == ["03 08:00"]


@pytest.mark.parametrize(
    ("kind_label", "must", "must_not"),
    [
        ("Just listen", "listen", "advise"),
        ("Some advice", "Do you want my take", "No fixing"),
        ("Practical help", "Take something off their plate", "No fixing"),
        ("Some company", "Be with them", "advise"),
        ("A bit of space", "don't go to them now", "Go to them"),
    ],
)
def test_the_supporters_guidance_follows_the_kind_of_support(
    world: tuple[Services, Clock], kind_label: str, must: str, must_not: str
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    [answer] = [m for m in let_go(services, clock, kind_label) if m.chat_id == SAM.id]
    assert must in answer.text and must_not not in answer.text
