"""What a safety answer changes over time, on a controlled clock: one gentle check the next
day (quiet hours respected), and a quiet pause that stops only that person's nudges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.coaching.services import Services
from tests.helpers import (
    ALEX,
    SAM,
    Clock,
    Delivery,
    event,
    in_units,
    pair_services,
    press,
    prompts,
    run_clock,
    text_of,
)


def texts_for(sent: list[tuple[datetime, Delivery]], chat_id: int) -> list[tuple[datetime, str]]:
    return [(t, text_of(m)) for t, d in sent for m in d.messages if m.chat_id == chat_id]


def test_the_day_after_a_safety_answer_comes_one_gentle_check(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    answer = in_units(services).text(event(ALEX, clock.now, text="he hit me again last night"))
    assert "never your fault" in answer.messages[0].text
    # Another sign the same evening does not plan a second check.
    clock.now += timedelta(hours=3)
    in_units(services).text(event(ALEX, clock.now, text="I'm scared of him"))
    sent = run_clock(services, clock, datetime(2026, 3, 5, tzinfo=UTC))
    checks = [(t, text) for t, text in texts_for(sent, ALEX.id) if "still here" in text]
    assert [t.strftime("%m-%d %H:%M") for t, _ in checks] == ["03-03 12:00"]
    assert checks[0][1].splitlines()[0] == "A quick note from your coach 🌿"
    assert not any("still here" in text for _t, text in texts_for(sent, SAM.id))
    # Its buttons: the numbers again, or a kind goodbye.
    message = next(m for _t, d in sent for m in d.messages if "still here" in text_of(m))
    again = press(services, ALEX, [message], "Show me the numbers", clock.now)
    assert "findahelpline.com" in text_of(again[0]) and again[0].chat_id == ALEX.id


def test_the_check_waits_for_the_end_of_quiet_hours(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # Alex's quiet hours: 22:00-08:00
    in_units(services).text(event(ALEX, clock.now, text="I want to die"))
    sent = run_clock(services, clock, datetime(2026, 3, 5, tzinfo=UTC))
    checks = [t for t, text in texts_for(sent, ALEX.id) if "still here" in text]
    assert [t.strftime("%m-%d %H:%M") for t in checks] == ["03-04 08:00"]


def test_pausing_quietly_stops_only_that_persons_private_nudges(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    # no group: the prompt goes to both privately
    pair_services(services, clock, "UTC", "wed", "18:00")
    answer = in_units(services).text(event(ALEX, clock.now, text="he controls my money"))
    press(services, ALEX, answer.messages, "Pause all nudges quietly", clock.now)
    sent = run_clock(services, clock, datetime(2026, 3, 12, tzinfo=UTC))
    weekly = prompts(sent)
    # Sam gets the weekly prompt both weeks as before; Alex gets none, and no check either.
    assert [[d.chat_id for d in ds] for _t, ds in weekly] == [[SAM.id], [SAM.id]]
    assert texts_for(sent, ALEX.id) == []
    # /resume lifts it, privately: the next prompt reaches both again.
    reply = in_units(services).couples.set_paused(event(ALEX, clock.now), False)
    assert [m.chat_id for m in reply.messages] == [ALEX.id]
    later = prompts(run_clock(services, clock, datetime(2026, 3, 19, tzinfo=UTC)))
    assert sorted(d.chat_id for _t, ds in later for d in ds) == [ALEX.id, SAM.id]


def test_the_group_prompt_is_unchanged_by_a_quiet_pause(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "09:00")
    in_units(services).couples.link(event(ALEX, clock.now, chat=-500))
    answer = in_units(services).text(event(SAM, clock.now, text="I'm afraid of her"))
    press(services, SAM, answer.messages, "Pause all nudges quietly", clock.now)
    [(_at, deliveries)] = prompts(run_clock(services, clock, clock.now + timedelta(days=2)))
    assert [d.chat_id for d in deliveries] == [-500]
