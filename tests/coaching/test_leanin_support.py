"""Lean in on a controlled clock: "how did it feel?" comes hours after "I'm on it" (after quiet
hours), the supporter's guidance follows the kind of support asked for, and the result goes
to the supporter alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.coaching.services import Services
from bot.core.outbox import Outgoing
from tests.helpers import (
    ALEX,
    SAM,
    Clock,
    event,
    in_units,
    pair_services,
    press,
    run_clock,
    text_of,
)


def paired_at_noon(world: tuple[Services, Clock]) -> tuple[Services, Clock]:
    """Alex and Sam, paired, on Monday 2 March 2026 at noon UTC (outside quiet hours)."""
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    return services, clock


def shared(services: Services, clock: Clock, kind_label: str) -> list[Outgoing]:
    """Alex lets go with a struggle and a kind of support; returns what "Send it" sent."""
    reply = in_units(services).flows.start(event(ALEX, clock.now), services.flows.flows["letgo"])
    msgs = press(services, ALEX, reply.messages, "I have something", clock.now)
    msgs = in_units(services).text(event(ALEX, clock.now, text="Work is overwhelming")).messages
    msgs = press(services, ALEX, msgs, kind_label, clock.now)
    return press(services, ALEX, msgs, "Send it", clock.now)


def let_go(services: Services, clock: Clock, kind_label: str) -> list[Outgoing]:
    """Alex lets go with a kind of support; returns what Sam got (the struggle, the kind
    asked for, how to give it: nothing for Sam to ask again)."""
    return shared(services, clock, kind_label)


def test_a_let_go_that_says_what_would_help_is_not_asked_again(
    world: tuple[Services, Clock],
) -> None:
    """The sharer chose "Some company": the supporter reads it with guidance and answers
    when they can be there; nobody asks "What does support look like?" again, and the sharer
    hears that it was read."""
    services, clock = paired_at_noon(world)
    [to_sam] = [m for m in let_go(services, clock, "Some company") if m.chat_id == SAM.id]
    assert "Work is overwhelming" in text_of(to_sam) and "Some company" in text_of(to_sam)
    assert "sit together" in text_of(to_sam) and "When can you be there?" in text_of(to_sam)
    assert [b.label for row in to_sam.buttons for b in row] == [
        "I'm on it 💛",
        "Later today",
        "I can't right now: tell them I'm thinking of them",
    ]
    on_it = press(services, SAM, [to_sam], "I'm on it 💛", clock.now)
    told = {m.chat_id: text_of(m) for m in on_it}
    assert told[ALEX.id] == "Sam has read what you shared and is coming to you 💛"
    assert "In a few hours I'll ask Alex" in told[SAM.id]
    asked_again = [m for m in on_it if "What does support look like" in text_of(m)]
    assert asked_again == []


def test_how_did_it_feel_comes_hours_later_and_only_the_supporter_hears_the_result(
    world: tuple[Services, Clock],
) -> None:
    services, clock = paired_at_noon(world)
    to_sam = let_go(services, clock, "Just listen")
    on_it = press(services, SAM, to_sam, "I'm on it 💛", clock.now)
    assert [m.chat_id for m in on_it] == [ALEX.id, SAM.id] and "In a few hours" in text_of(on_it[1])
    sent = run_clock(services, clock, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    asked = [(t, m) for t, d in sent for m in d.messages if "How did it feel" in text_of(m)]
    assert [(t.strftime("%H:%M"), m.chat_id) for t, m in asked] == [("15:00", ALEX.id)]
    result = press(services, ALEX, [asked[0][1]], "A bit", clock.now)
    to_sam_now = [text_of(m) for m in result if m.chat_id == SAM.id]
    to_alex_now = [text_of(m) for m in result if m.chat_id == ALEX.id]
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
    asked = [t for t, d in sent for m in d.messages if "How did it feel" in text_of(m)]
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
    assert must in text_of(answer) and must_not not in text_of(answer)


def test_a_bit_of_space_is_asked_about_the_next_day(world: tuple[Services, Clock]) -> None:
    services, clock = paired_at_noon(world)
    to_sam = let_go(services, clock, "A bit of space")
    on_it = press(services, SAM, to_sam, "I'm on it 💛", clock.now)
    told = {m.chat_id: text_of(m) for m in on_it}
    assert "tomorrow I'll ask Alex" in told[SAM.id]
    assert "will give you the space you asked for" in told[ALEX.id]
    sent = run_clock(services, clock, datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    asked = [t for t, d in sent for m in d.messages if "How did it feel" in text_of(m)]
    assert [t.strftime("%d %H:%M") for t in asked] == ["03 12:00"]  # not that evening


def test_later_today_tells_the_sharer_and_asks_how_it_felt_by_the_next_morning(
    world: tuple[Services, Clock],
) -> None:
    services, clock = paired_at_noon(world)
    to_sam = let_go(services, clock, "Some company")
    later = press(services, SAM, to_sam, "Later today", clock.now)
    told = {m.chat_id: text_of(m) for m in later}
    assert "will be there for you later today" in told[ALEX.id]
    assert "Tomorrow morning at the latest" in told[SAM.id]
    sent = run_clock(services, clock, datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    asked = [(t, m.chat_id) for t, d in sent for m in d.messages if "How did it feel" in text_of(m)]
    # 12 hours on is midnight, inside quiet hours: the question waits for the morning
    assert [(t.strftime("%d %H:%M"), chat) for t, chat in asked] == [("03 08:00", ALEX.id)]


def test_cannot_right_now_reaches_the_sharer_kindly_and_asks_nothing_later(
    world: tuple[Services, Clock],
) -> None:
    services, clock = paired_at_noon(world)
    to_sam = let_go(services, clock, "Just listen")
    cant = press(
        services, SAM, to_sam, "I can't right now: tell them I'm thinking of them", clock.now
    )
    told = {m.chat_id: text_of(m) for m in cant}
    assert "is thinking of you" in told[ALEX.id] and "can't be there right now" in told[ALEX.id]
    assert "a little later still counts" in told[SAM.id]
    sent = run_clock(services, clock, datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    assert not [m for _t, d in sent for m in d.messages if "How did it feel" in text_of(m)]


def test_the_supporter_is_reminded_within_two_hours_not_half_a_day(
    world: tuple[Services, Clock],
) -> None:
    services, clock = paired_at_noon(world)
    shared(services, clock, "Just listen")  # Sam's Lean in waits for Sam
    sent = run_clock(services, clock, datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    reminded = [
        (t, m.chat_id) for t, d in sent for m in d.messages if "gentle reminder" in text_of(m)
    ]
    assert [(t.strftime("%H:%M"), chat) for t, chat in reminded] == [("13:30", SAM.id)]


def test_a_let_go_nobody_got_to_ends_with_something_kind_for_the_sharer(
    world: tuple[Services, Clock],
) -> None:
    """Vulnerability never met with silence: when Lean in expires untouched, the sharer is
    told kindly, privately; the supporter only hears that it closed."""
    services, clock = paired_at_noon(world)
    shared(services, clock, "Just listen")
    sent = run_clock(services, clock, datetime(2026, 3, 5, 14, 0, tzinfo=UTC))
    to_alex = [text_of(m) for _t, d in sent for m in d.messages if m.chat_id == ALEX.id]
    to_sam = [text_of(m) for _t, d in sent for m in d.messages if m.chat_id == SAM.id]
    assert any("Sam hasn't got to what you shared yet" in t for t in to_alex), to_alex
    assert not any("Work is overwhelming" in t for t in to_alex)  # no need to quote it back
    assert not any("hasn't got to" in t for t in to_sam)
    assert any("closed" in t for t in to_sam)


def test_a_cold_lean_in_gone_to_in_person_tells_the_partner_without_inventing_a_share(
    world: tuple[Services, Clock],
) -> None:
    """/leanin out of the blue, "I'll go to them myself": the partner hears Sam is coming,
    not that Sam "read what you shared" (nothing was shared)."""
    services, clock = paired_at_noon(world)
    reply = in_units(services).flows.start(event(SAM, clock.now), services.flows.flows["leanin"])
    went = press(services, SAM, reply.messages, "I'll go to them myself", clock.now)
    told = {m.chat_id: text_of(m) for m in went}
    assert told[ALEX.id] == "Sam would like to be there for you and is coming to you 💛"
    assert "When you're with Alex" in told[SAM.id]
