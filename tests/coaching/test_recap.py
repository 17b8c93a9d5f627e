"""The weekly recap: once a week, after the meeting slot (Sunday evening without one),
celebrating what the couple did; a quiet week gets kind words and no zeros."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from bot.coaching.services import Services
from tests.helpers import (
    ALEX,
    SAM,
    STEP,
    Clock,
    event,
    in_units,
    pair_services,
    press,
    recaps,
    run_clock,
    text_of,
)


def appreciate(services: Services, clock: Clock, words: str) -> None:
    shown = in_units(services).flows.start(
        event(ALEX, clock.now), services.flows.flows["appreciate"]
    )
    shown = in_units(services).text(event(ALEX, clock.now, text=words))
    press(services, ALEX, shown.messages, "Send it", clock.now)


def test_the_recap_counts_the_week_after_the_meeting_slot(world: tuple[Services, Clock]) -> None:
    services, clock = world  # Sunday 1 March 2026, 00:00 UTC
    pair_services(services, clock, "UTC", "sun", "19:00")
    # Too soon after pairing: the first Sunday has no recap.
    assert recaps(run_clock(services, clock, datetime(2026, 3, 3, 9, tzinfo=UTC), STEP)) == []
    appreciate(services, clock, "You fixed the bike")
    appreciate(services, clock, "You made me laugh")
    shown = (
        in_units(services)
        .flows.start(event(SAM, clock.now), services.flows.flows["metime"])
        .messages
    )
    shown = press(services, SAM, shown, "Let's plan it", clock.now)
    in_units(services).text(event(SAM, clock.now, text="choir"))
    shown = in_units(services).text(event(SAM, clock.now, text="thu 18:00")).messages
    press(services, SAM, shown, "No, just me", clock.now)

    sent = recaps(run_clock(services, clock, datetime(2026, 3, 8, 23, tzinfo=UTC), STEP))
    assert sorted((when, chat) for when, chat, _ in sent) == [
        ("Sun 08 21:00", ALEX.id),
        ("Sun 08 21:00", SAM.id),
    ]
    text = sent[0][2]
    assert "2 appreciations sent" in text
    # Sam kept the "you" time to themself ("No, just me"): the recap, which Alex reads too,
    # never counts it.
    assert 'Took "you" time' not in text
    assert "0" not in text.replace("2026", "")  # nothing counted as none
    assert "together" not in text.lower().replace("built together", "")

    # Two quiet weeks: kind words, never the same opening twice running.
    later = recaps(run_clock(services, clock, datetime(2026, 3, 22, 23, tzinfo=UTC), STEP))
    quiet = [text for _w, chat, text in later if chat == ALEX.id]
    assert len(quiet) == 2 and all("quiet" in t or "busy" in t for t in quiet)
    assert quiet[0].splitlines()[1] != quiet[1].splitlines()[1]


def test_without_a_meeting_time_it_comes_on_sunday_evening(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    couples = in_units(services).couples
    couples.register(ALEX)
    couples.register(SAM)
    code = couples.invite(event(ALEX, clock.now)).messages[0].text.split("?start=")[1].split()[0]
    couples.join(event(SAM, clock.now), code)
    couples.set_timezone(event(ALEX, clock.now), "Europe/Berlin")
    couples.link(event(ALEX, clock.now, chat=-700))
    sent = recaps(run_clock(services, clock, datetime(2026, 3, 9, tzinfo=UTC), STEP))
    assert [(when, chat) for when, chat, _ in sent] == [("Sun 08 18:00", -700)]  # 19:00 Berlin


def test_a_paused_couple_gets_no_recap(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).couples.set_paused(event(SAM, clock.now), True)
    assert recaps(run_clock(services, clock, datetime(2026, 3, 16, tzinfo=UTC), STEP)) == []


def test_the_weekly_prompt_never_repeats_its_words_two_weeks_running(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "19:00")
    sent = run_clock(services, clock, datetime(2026, 3, 31, tzinfo=UTC), STEP)
    weekly = [
        text_of(m).splitlines()[0]
        for _t, d in sent
        for m in d.messages
        if "State of the Union" in text_of(m) and d.chat_id == ALEX.id
    ]
    assert len(weekly) == 5
    assert all(a != b for a, b in itertools.pairwise(weekly))
    assert len(set(weekly)) == 3


def let_go(services: Services, clock: Clock, send: bool) -> None:
    shown = (
        in_units(services)
        .flows.start(event(ALEX, clock.now), services.flows.flows["letgo"])
        .messages
    )
    shown = press(services, ALEX, shown, "I have something", clock.now)
    shown = in_units(services).text(event(ALEX, clock.now, text="Work is heavy")).messages
    shown = press(services, ALEX, shown, "Just listen", clock.now)
    press(services, ALEX, shown, "Send it" if send else "Keep it to myself", clock.now)


def test_a_let_go_kept_private_is_never_counted(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    run_clock(services, clock, datetime(2026, 3, 3, 9, tzinfo=UTC), STEP)
    let_go(services, clock, send=False)
    appreciate(services, clock, "You cooked")
    [(_w, _c, text), *_] = recaps(
        run_clock(services, clock, datetime(2026, 3, 8, 23, tzinfo=UTC), STEP)
    )
    assert "Asked for support" not in text  # Sam reads this recap too
    let_go(services, clock, send=True)
    later = recaps(run_clock(services, clock, datetime(2026, 3, 15, 23, tzinfo=UTC), STEP))
    assert any("Asked for support once" in text for _w, _c, text in later)


def share_win(services: Services, clock: Clock, words: str, send: bool) -> None:
    shown = (
        in_units(services).flows.start(event(SAM, clock.now), services.flows.flows["win"]).messages
    )
    shown = in_units(services).text(event(SAM, clock.now, text=words)).messages
    press(services, SAM, shown, "Send it" if send else "Keep it to myself", clock.now)


def test_the_recap_counts_wins_shared_never_wins_kept(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    run_clock(services, clock, datetime(2026, 3, 3, 9, tzinfo=UTC), STEP)
    share_win(services, clock, "I finished the marathon", send=True)
    share_win(services, clock, "I got the promotion", send=False)
    [(_w, _c, text), *_] = recaps(
        run_clock(services, clock, datetime(2026, 3, 8, 23, tzinfo=UTC), STEP)
    )
    assert "🏆 1 win shared" in text  # the one Sam kept is nobody's to count
